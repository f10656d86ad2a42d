"""Issue #17 item 5b: the embedder's onnxruntime backend (banditsim.envs.embed_onnx).

The backend must change the work, never the result: vectors within 1e-5 of the torch path on short
titles, long texts and edge sizes, with workers; the export is made once per model key, checked,
renamed into place and trusted only while its bytes match their digest; a failed export falls back
to torch with one warning line (an error when onnx was asked for); an abandoned run stops the
running onnxruntime calls; progress lines still come off a terminal.
"""

from __future__ import annotations

import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.embed_part import synthetic_texts
from banditsim.envs import embed_onnx
from banditsim.envs.cache_shard import read_shard
from banditsim.envs.embed_workers import Stopped, on_stop, run_batches
from banditsim.envs.embedding import TextEmbedder, embed_texts
from banditsim.envs.embedding_cache import default_cache_dir
from banditsim.envs.errors import EmbeddingError
from tests.embedding_fixtures import embedder, one_thread  # noqa: F401 (fixtures)

ATOL = 1e-5


@pytest.fixture(scope="module")
def onnx_emb():
    emb = TextEmbedder(device="cpu", threads=2, backend="onnx")
    emb._load()
    return emb


def like(emb: TextEmbedder, **kwargs) -> TextEmbedder:
    """A TextEmbedder with its own settings over ``emb``'s loaded tokenizer and session."""
    new = TextEmbedder(device="cpu", **kwargs)
    new._tokenizer, new._onnx, new._key, new.backend = emb._tokenizer, emb._onnx, emb._key, emb.backend
    return new


@pytest.fixture(scope="module")
def exported(onnx_emb) -> Path:
    """The export of the packaged model in the default cache folder (made by ``onnx_emb``)."""
    return embed_onnx.export_path(default_cache_dir(), onnx_emb._key)


# ------------------------------------------------------------------ the same vectors
def test_auto_runs_onnxruntime_on_the_cpu(onnx_emb):
    emb = TextEmbedder(device="cpu")
    emb._load()
    assert emb.backend == "onnx" and emb._onnx is not None and emb._model is None, "no torch model loaded"


@pytest.mark.parametrize("catalog", ["titles", "long", "varied"])
def test_vectors_equal_the_torch_path(onnx_emb, embedder, movielens_catalog, catalog):
    texts = {"titles": list(movielens_catalog.texts[::7]),
             "long": synthetic_texts(80, seed=21),
             "varied": synthetic_texts(14, words=(1, 140), seed=11) + ["A space opera. " * 40, "Heat", "x", "Heat",
                                                                       " ".join(synthetic_texts(1, (300, 320), 5)[0].split())]}[catalog]
    seen = []
    got = onnx_emb.embed(texts, progress=False, on_batch=lambda idx, v: seen.append(idx.copy()))
    np.testing.assert_allclose(got, embedder.embed(texts, progress=False), atol=ATOL, rtol=0)
    assert sorted(np.concatenate(seen).tolist()) == list(range(len(texts)))


@pytest.mark.parametrize("n", [1, 2, 15, 16, 17, 33])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_edge_sizes(onnx_emb, embedder, n, workers):
    texts = synthetic_texts(n, words=(1, 25), seed=100 + n)
    got = like(onnx_emb, threads=workers, batch_size=16).embed(texts, progress=False)
    np.testing.assert_allclose(got, embedder.embed(texts, progress=False), atol=ATOL, rtol=0)


def test_progress_lines_name_onnxruntime(onnx_emb, tmp_path, monkeypatch):
    monkeypatch.setenv("BANDITSIM_PROGRESS_SECONDS", "0.05")
    monkeypatch.delenv("BANDITSIM_PROGRESS", raising=False)
    with open(tmp_path / "stderr.txt", "w", encoding="utf-8") as fh:
        monkeypatch.setattr(sys, "stderr", fh)
        like(onnx_emb, threads=2, batch_size=4).embed(synthetic_texts(64, words=(30, 60), seed=4), progress=False)
    lines = (tmp_path / "stderr.txt").read_text().splitlines()
    assert lines and all(ln.startswith("embedding (all-MiniLM-L6-v2, cpu, onnxruntime): ") for ln in lines), lines
    assert lines[-1].split(": ")[1].startswith("64/64 texts")


# ------------------------------------------------------------------ choosing the backend
def test_backend_choices(monkeypatch):
    with pytest.raises(EmbeddingError, match="unknown embedding backend 'tf'"):
        TextEmbedder(backend="tf")
    with pytest.raises(EmbeddingError, match="CPU only"):
        embed_onnx.choose_backend("onnx", "cuda")
    assert embed_onnx.choose_backend("auto", "cpu") == "onnx"
    monkeypatch.setattr(embed_onnx, "available", lambda: False)
    assert embed_onnx.choose_backend("auto", "cpu") == "torch"
    with pytest.raises(EmbeddingError, match="needs onnxruntime"):
        embed_onnx.choose_backend("onnx", "cpu")


def _boom(*args):
    raise RuntimeError("boom")


@pytest.fixture
def no_default_export(tmp_path, monkeypatch):
    """A default cache folder without an export (the session's has one)."""
    monkeypatch.setenv("BANDITSIM_CACHE_DIR", str(tmp_path / "home"))


def test_a_cache_folder_of_its_own_reuses_the_default_export(onnx_emb, exported, tmp_path, monkeypatch):
    monkeypatch.setattr(embed_onnx, "_export", _boom)
    encoder = embed_onnx.load_encoder(tmp_path, onnx_emb._key, _boom, onnx_emb._tokenizer)
    assert encoder.dim == 384 and not (tmp_path / "onnx").exists()


def test_a_failed_export_falls_back_to_torch_with_one_warning(embedder, tmp_path, monkeypatch, capsys,
                                                              no_default_export):
    monkeypatch.setattr(embed_onnx, "_export", _boom)
    texts = ["Heat", "Alien (1979)", "A space opera. " * 10]
    res = embed_texts(texts, cache_dir=tmp_path, progress=False, embedder=TextEmbedder(device="cpu"))
    err = capsys.readouterr().err.splitlines()
    assert err == ["warning: cannot run all-MiniLM-L6-v2 in onnxruntime (RuntimeError: boom); embedding with torch"]
    np.testing.assert_allclose(res.vectors, embedder.embed(texts, progress=False), atol=ATOL, rtol=0)
    asked = TextEmbedder(device="cpu", backend="onnx", cache_dir=tmp_path)
    with pytest.raises(EmbeddingError, match="cannot run all-MiniLM-L6-v2 in onnxruntime: RuntimeError: boom"):
        asked._load()


def test_an_export_that_changes_the_vectors_is_refused(onnx_emb, tmp_path, monkeypatch):
    real = embed_onnx.OnnxEncoder.__call__
    monkeypatch.setattr(embed_onnx.OnnxEncoder, "__call__", lambda self, arrays: real(self, arrays) * 0.999)
    model = TextEmbedder(device="cpu", backend="torch")._torch_model()
    (tmp_path / "onnx").mkdir()
    with pytest.raises(embed_onnx.OnnxUnavailable, match="does not reproduce"):
        embed_onnx._export(model, onnx_emb._tokenizer, tmp_path / "onnx" / "m.onnx")
    assert not list((tmp_path / "onnx").iterdir()), "nothing left behind"


# ------------------------------------------------------------------ the export on disk
@pytest.fixture
def fake_export(exported, monkeypatch, no_default_export):
    """``_export`` replaced by a copy of the real export (0.3 s, counted): the file handling alone."""
    calls = []

    def copy(model, tokenizer, path):
        calls.append(threading.current_thread().name)
        time.sleep(0.3)
        shutil.copyfile(exported, path)
        embed_onnx._digest_path(path).write_text(embed_onnx._digest_path(exported).read_text())

    monkeypatch.setattr(embed_onnx, "_export", copy)
    return calls


def test_the_export_is_made_once_and_reused(onnx_emb, tmp_path, fake_export):
    def load():
        return embed_onnx.load_encoder(tmp_path, onnx_emb._key, lambda: None, onnx_emb._tokenizer)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake_export) == 1, "concurrent loads export once (the others wait on the lock)"
    load()
    assert len(fake_export) == 1
    path = embed_onnx.export_path(tmp_path, onnx_emb._key)
    assert sorted(p.name for p in path.parent.iterdir()) == [".lock", path.name, path.name + ".sha256"]


def test_a_damaged_export_is_made_again(onnx_emb, tmp_path, fake_export):
    path = embed_onnx.export_path(tmp_path, onnx_emb._key)
    embed_onnx.load_encoder(tmp_path, onnx_emb._key, lambda: None, onnx_emb._tokenizer)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one weight's byte, same size
    path.write_bytes(bytes(data))
    encoder = embed_onnx.load_encoder(tmp_path, onnx_emb._key, lambda: None, onnx_emb._tokenizer)
    assert len(fake_export) == 2
    batch = onnx_emb._tokenizer(["Heat", "Alien (1979)"], padding=True, return_tensors="np")
    np.testing.assert_allclose(encoder(dict(batch)), onnx_emb._onnx(dict(batch)), atol=0, rtol=0)


def test_a_real_export_gives_the_same_session(onnx_emb, exported, tmp_path, no_default_export):
    """Exported afresh in an empty cache folder: the same bytes' digest recorded, the same vectors."""
    model = TextEmbedder(device="cpu", backend="torch")._torch_model()
    encoder = embed_onnx.load_encoder(tmp_path, onnx_emb._key, lambda: model, onnx_emb._tokenizer)
    path = embed_onnx.export_path(tmp_path, onnx_emb._key)
    assert embed_onnx._intact(path, tmp_path) and not list(path.parent.glob(".tmp-*"))
    batch = dict(onnx_emb._tokenizer(synthetic_texts(5, seed=3), padding=True, return_tensors="np"))
    np.testing.assert_allclose(encoder(batch), onnx_emb._onnx(batch), atol=ATOL, rtol=0)


# ------------------------------------------------------------------ stopping
def test_on_stop_runs_only_for_an_abandoned_worker():
    fired = []
    with on_stop(lambda: fired.append("outside")):
        pass

    def forward(b):
        with on_stop(lambda: fired.append(b)):
            time.sleep(0.3 if b == 1 else 0.0)
        return b

    gen = run_batches([0, 1], forward, workers=2)
    assert next(gen) == (0, 0)
    gen.close()
    time.sleep(0.5)
    assert fired == [1]


def test_an_abandoned_run_terminates_the_running_onnx_call(onnx_emb):
    """Batch 0 is quick, batch 1 long (64 texts of 256 tokens): the consumer takes batch 0 and
    breaks off; the call running batch 1 stops with Stopped instead of finishing."""
    tok = onnx_emb._tokenizer
    quick = dict(tok(["Heat"], return_tensors="np"))
    long = dict(tok([" ".join(synthetic_texts(1, (300, 320), 8)[0].split())] * 64, truncation=True,
                    max_length=256, return_tensors="np"))
    outcomes = []

    def forward(batch):
        try:
            out = onnx_emb._onnx(batch)
        except Stopped:
            outcomes.append("stopped")
            raise
        outcomes.append("finished")
        return out

    gen = run_batches([quick, long], forward, workers=2)
    next(gen)
    time.sleep(0.05)  # batch 1 is running
    gen.close()
    deadline = time.monotonic() + 60
    while len(outcomes) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert outcomes == ["finished", "stopped"]


def test_an_interrupt_keeps_finished_batches_as_whole_shards(onnx_emb, embedder, tmp_path, monkeypatch):
    from banditsim.envs import embedding as embedding_mod

    monkeypatch.setattr(embedding_mod, "FLUSH_SECONDS", 0.0)  # a shard per finished batch
    texts = synthetic_texts(40, words=(3, 12), seed=9)
    emb = like(onnx_emb, threads=2, batch_size=4)
    session, calls = emb._onnx, []

    def interrupting(arrays):
        calls.append(1)
        if len(calls) == 5:
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            time.sleep(0.5)
        return session(arrays)

    emb._onnx = interrupting
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            embed_texts(texts, cache_dir=tmp_path, progress=False, embedder=emb)
    finally:
        signal.signal(signal.SIGINT, old)
    time.sleep(0.8)
    shards = sorted((tmp_path / emb._key).glob("shard-*.npz"))
    kept = sum(len(read_shard(s, emb._key, 384, unit_norm=True)[0]) for s in shards)
    assert 0 < kept < len(texts)
    rerun = embed_texts(texts, cache_dir=tmp_path, progress=False, embedder=like(onnx_emb, threads=2))
    assert (rerun.n_cached, rerun.n_embedded) == (kept, len(texts) - kept)
    np.testing.assert_allclose(rerun.vectors, embedder.embed(texts, progress=False), atol=ATOL, rtol=0)
