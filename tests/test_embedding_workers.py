"""Issue #17 item 5b: batches embedded side by side on worker threads, one torch thread each.

The workers must change the work, never the result: vectors equal to each text embedded alone
(within 1e-5) in the caller's order, whatever the number of workers; a batch that fails or an
interrupt keeps every finished batch in the cache as whole shards; progress lines still come off a
terminal. :func:`envs.embed_workers.run_batches` is tested on its own with batches that really run
at once (a barrier that only two concurrent calls can pass).
"""

from __future__ import annotations

import signal
import sys
import threading
import time

import numpy as np
import pytest
import torch

from bench.embed_part import synthetic_texts
from banditsim.envs.cache_shard import read_shard
from banditsim.envs.cpu_threads import torch_threads, usable_cpus
from banditsim.envs.embed_workers import Stopped, abandon_on_stop, run_batches
from banditsim.envs.embedding import TextEmbedder, embed_texts
from banditsim.envs.embedding_cache import text_hash
from banditsim.envs.errors import EmbeddingError
from tests.embedding_fixtures import embedder, one_thread  # noqa: F401 (fixtures)

ATOL = 1e-5


def sharing(embedder, **kwargs) -> TextEmbedder:
    """A TextEmbedder with its own settings over the already loaded model."""
    emb = TextEmbedder(device="cpu", **kwargs)
    emb._tokenizer, emb._model, emb._key = embedder._tokenizer, embedder._model, embedder._key
    return emb


def reference(embedder, texts) -> np.ndarray:
    """Each text alone (no [PAD]), mean of its token states, L2-normalised in float64."""
    rows = []
    with torch.inference_mode():
        for t in texts:
            enc = embedder._tokenizer([t], truncation=True, max_length=embedder.max_length, return_tensors="pt")
            v = embedder._model(**enc).last_hidden_state[0].double().numpy().mean(0)
            rows.append(v / np.linalg.norm(v))
    return np.array(rows)


# ------------------------------------------------------------------ run_batches alone
def test_batches_run_at_once_and_come_back_in_order():
    """Two workers: the first two batches meet at a barrier (sequential calls would time out);
    later ones finish out of order (sleeps) and still come back in the order given."""
    meet = threading.Barrier(2, timeout=20)
    seen = []

    def forward(b):
        if b < 2:
            meet.wait()
        time.sleep(0.02 * ((7 - b) % 3))
        seen.append((b, threading.current_thread().name, torch.get_num_threads()))
        return b * b

    before = torch.get_num_threads()
    with torch_threads(2):
        out = list(run_batches(range(8), forward, workers=2))
        assert torch.get_num_threads() == 2, "the caller's thread count is put back"
    assert out == [(b, b * b) for b in range(8)]
    assert {threads for _, _, threads in seen} == {1}, "each worker runs torch on one thread"
    assert all(name.startswith("embed-worker") for _, name, _ in seen)
    assert torch.get_num_threads() == before


def test_one_worker_runs_inline_in_the_callers_thread():
    names = [name for _, name in run_batches([1, 2], lambda b: threading.current_thread().name, workers=1)]
    assert names == [threading.current_thread().name] * 2


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_a_failing_batch_stops_the_rest(workers):
    """Batch 5 raises: batches 0-4 come back, the error reaches the caller at batch 5's turn, and
    the queued batches after the look-ahead window never start."""
    started = []

    def forward(b):
        started.append(b)
        if b == 5:
            raise RuntimeError("boom at 5")
        return b

    got = []
    with pytest.raises(RuntimeError, match="boom at 5"):
        for b, r in run_batches(range(100), forward, workers=workers):
            got.append(r)
    time.sleep(0.2)  # let a running batch finish
    assert got == [0, 1, 2, 3, 4]
    assert max(started) < 5 + 2 * workers + 1, started


def test_a_consumer_that_breaks_off_cancels_the_queue():
    started = []
    gen = run_batches(range(1000), lambda b: started.append(b) or b, workers=2)
    for b, _ in gen:
        if b == 3:
            break
    gen.close()
    time.sleep(0.2)
    assert len(started) < 20


class Slow(torch.nn.Module):
    """A layer that takes 50 ms and counts its calls."""

    def __init__(self, calls):
        super().__init__()
        self.calls = calls

    def forward(self, x):
        self.calls.append(threading.current_thread().name)
        time.sleep(0.05)
        return x + 1


def test_an_abandoned_run_stops_its_running_model_calls_at_the_next_layer():
    """A 40-layer model (2 s a call): the consumer breaks off after the first result; the calls
    still running (one per worker) stop at their next layer instead of running 2 s more."""
    calls: list = []
    model = torch.nn.Sequential(*[Slow(calls) for _ in range(40)])
    outcomes = []

    def forward(b):
        try:
            return model(torch.zeros(1))
        except Stopped:
            outcomes.append("stopped")
            raise

    with abandon_on_stop(model):
        gen = run_batches(range(10), forward, workers=2)
        assert float(next(gen)[1]) == 40.0
        layers_then = len(calls)
        gen.close()
        time.sleep(0.5)
    assert outcomes in (["stopped"], ["stopped", "stopped"]), "the running calls were not stopped"
    assert len(calls) - layers_then <= 2 * len(outcomes), "they ran on after the stop"
    assert float(model(torch.zeros(1))) == 40.0, "the hooks are gone after the block"
    assert not model._forward_pre_hooks and not model[0]._forward_pre_hooks


def test_bad_worker_count():
    with pytest.raises(ValueError, match="workers must be >= 1"):
        list(run_batches([1], lambda b: b, workers=0))


# ------------------------------------------------------------------ embed with workers
@pytest.fixture(scope="module")
def titles(movielens_catalog):
    return list(movielens_catalog.texts[::28])  # 61 titles from all over the catalog


@pytest.fixture(scope="module")
def varied():
    """Texts from one word to past the 256-token limit, shuffled, duplicates included."""
    texts = synthetic_texts(14, words=(1, 140), seed=11) + ["A space opera. " * 40, "Heat", "x", "Heat"]
    texts += [" ".join(synthetic_texts(1, words=(300, 320), seed=5)[0].split())]
    return [texts[i] for i in np.random.default_rng(2).permutation(len(texts))]


@pytest.fixture(scope="module")
def references(embedder, titles, varied):
    return {"titles": reference(embedder, titles), "varied": reference(embedder, varied)}


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("catalog", ["titles", "varied"])
def test_workers_give_each_text_alone_in_the_callers_order(embedder, request, references, catalog, workers):
    texts = request.getfixturevalue(catalog)
    emb = sharing(embedder, threads=workers, batch_size=16, token_budget=1024)
    seen = []
    v = emb.embed(texts, progress=False, on_batch=lambda idx, vecs: seen.append(idx.copy()))
    np.testing.assert_allclose(v, references[catalog], atol=ATOL, rtol=0)
    assert sorted(np.concatenate(seen).tolist()) == list(range(len(texts)))
    assert len(seen) >= workers
    assert torch.get_num_threads() == 1, "embed puts the caller's thread count back"


@pytest.mark.parametrize("n", [1, 2, 15, 16, 17, 33])
def test_workers_at_batch_boundaries(embedder, n):
    """1 item, fewer items than workers, batch - 1, batch, batch + 1, two batches + 1 (batch 16)."""
    texts = synthetic_texts(n, words=(1, 25), seed=100 + n)
    v = sharing(embedder, threads=2, batch_size=16).embed(texts, progress=False)
    np.testing.assert_allclose(v, reference(embedder, texts), atol=ATOL, rtol=0)


class Recording(torch.nn.Module):
    """The real model; records the thread, torch's thread count and inference mode of each call.
    The first two calls must meet at a barrier: only batches running at once can pass it."""

    def __init__(self, model):
        super().__init__()
        self.model, self.config, self.calls = model, model.config, []
        self.meet = threading.Barrier(2, timeout=30)

    def forward(self, **batch):
        self.calls.append((threading.current_thread().name, torch.get_num_threads(),
                           torch.is_inference_mode_enabled()))
        if len(self.calls) <= 2:
            self.meet.wait()
        return self.model(**batch)


def test_two_workers_run_batches_at_once_on_one_torch_thread_each(embedder, titles, references):
    emb = sharing(embedder, threads=2, batch_size=8)
    emb._model = Recording(embedder._model)
    with torch_threads(2):
        v = emb.embed(titles, progress=False)
        assert torch.get_num_threads() == 2
    np.testing.assert_allclose(v, references["titles"], atol=ATOL, rtol=0)
    names = {name for name, _, _ in emb._model.calls}
    assert len(names) == 2 and all(n.startswith("embed-worker") for n in names)
    assert {(threads, inference) for _, threads, inference in emb._model.calls} == {(1, True)}


def test_duplicates_get_identical_rows_with_workers(embedder):
    texts = ["Heat", "Alien (1979)", "Heat", "Heat", "Babe (1995)", "Alien (1979)"] * 5
    v = sharing(embedder, threads=2, batch_size=4).embed(texts, progress=False)
    for t in set(texts):
        rows = v[[i for i, s in enumerate(texts) if s == t]]
        np.testing.assert_allclose(rows, np.repeat(rows[:1], len(rows), 0), atol=1e-6, rtol=0)
    np.testing.assert_allclose(v[:6], reference(embedder, texts[:6]), atol=ATOL, rtol=0)


def test_worker_count_defaults_to_the_cpus_torch_may_use(embedder):
    emb = sharing(embedder)
    with torch_threads(2):
        assert emb.workers() == min(2, usable_cpus())
    assert emb.workers() == 1  # torch at one thread (this module's scope)
    assert sharing(embedder, threads=3).workers() == 3
    off_cpu = TextEmbedder(device="cpu", threads=4)
    off_cpu.device = "cuda"  # what _load sets on a GPU: one batch at a time there
    assert off_cpu.workers() == 1


def test_cache_hits_do_not_depend_on_the_worker_count(embedder, titles, tmp_path):
    varied = titles[:20]
    one = embed_texts(varied, cache_dir=tmp_path / "a", progress=False, embedder=sharing(embedder, threads=1))
    two = embed_texts(varied, cache_dir=tmp_path / "b", progress=False, embedder=sharing(embedder, threads=2))
    assert one.cache_key == two.cache_key
    np.testing.assert_allclose(one.vectors, two.vectors, atol=1e-6, rtol=0)
    fresh = TextEmbedder(device="cpu", threads=2)
    again = embed_texts(varied, cache_dir=tmp_path / "b", progress=False, embedder=fresh)
    assert again.n_embedded == 0 and fresh._model is None and again.cache_key == one.cache_key


# ------------------------------------------------------------------ failures and interrupts keep whole shards
class Failing(torch.nn.Module):
    """The real model, but call number ``at`` does ``fail()`` (thread-safe count)."""

    def __init__(self, model, at: int, fail):
        super().__init__()
        self.model, self.at, self.fail, self.config = model, at, fail, model.config
        self.calls, self.lock = 0, threading.Lock()

    def forward(self, **batch):
        with self.lock:
            self.calls += 1
            mine = self.calls
        if mine == self.at:
            self.fail()
            time.sleep(0.5)  # an interrupt reaches the caller while this batch still runs
        return self.model(**batch)


def _interrupt_main():
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)


def _raise():
    raise RuntimeError("worker died")


@pytest.fixture(scope="module")
def short_texts(embedder):
    texts = synthetic_texts(40, words=(3, 12), seed=9)
    return texts, reference(embedder, texts)


@pytest.mark.parametrize("how", ["worker raises", "interrupt"])
def test_a_stopped_embed_keeps_finished_batches_as_whole_shards(embedder, short_texts, tmp_path, monkeypatch, how):
    from banditsim.envs import embedding as embedding_mod

    monkeypatch.setattr(embedding_mod, "FLUSH_SECONDS", 0.0)  # a shard per finished batch
    texts, ref_rows = short_texts
    emb = sharing(embedder, threads=2, batch_size=4)
    emb._model = Failing(embedder._model, at=5, fail=_raise if how == "worker raises" else _interrupt_main)
    expected = (RuntimeError, EmbeddingError) if how == "worker raises" else KeyboardInterrupt
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(expected):
            embed_texts(texts, cache_dir=tmp_path, progress=False, embedder=emb)
    finally:
        signal.signal(signal.SIGINT, old)
    time.sleep(0.8)  # the batch that was running finishes in the background, writing nothing
    folder = tmp_path / emb._key
    shards = sorted(folder.glob("shard-*.npz"))
    assert shards and not list(folder.glob(".tmp-*")), "finished batches kept, no half-written file"
    ref = dict(zip(map(text_hash, texts), ref_rows))
    kept = 0
    for shard in shards:
        hashes, vectors = read_shard(shard, emb._key, 384, unit_norm=True)
        kept += len(hashes)
        for h, v in zip(hashes, vectors):
            np.testing.assert_allclose(v, ref[h], atol=ATOL, rtol=0)
    assert 0 < kept < len(texts)
    rerun = embed_texts(texts, cache_dir=tmp_path, progress=False, embedder=sharing(embedder, threads=2))
    assert (rerun.n_cached, rerun.n_embedded) == (kept, len(texts) - kept)
    np.testing.assert_allclose(rerun.vectors, ref_rows, atol=ATOL, rtol=0)


def test_progress_lines_off_a_terminal_with_workers(embedder, tmp_path, monkeypatch):
    """stderr in a file: newline-terminated lines 'embedding (...): done/total ...', done rising to
    the total, while two workers embed."""
    monkeypatch.setenv("BANDITSIM_PROGRESS_SECONDS", "0.05")
    monkeypatch.delenv("BANDITSIM_PROGRESS", raising=False)
    texts = synthetic_texts(64, words=(5, 40), seed=4)
    with open(tmp_path / "stderr.txt", "w", encoding="utf-8") as fh:
        monkeypatch.setattr(sys, "stderr", fh)
        sharing(embedder, threads=2, batch_size=8).embed(texts, progress=False)
    text = (tmp_path / "stderr.txt").read_text()
    lines = [ln for ln in text.splitlines() if ln.startswith("embedding (")]
    assert lines and "\r" not in text, text
    done = [int(ln.split(": ")[1].split("/")[0].replace(",", "")) for ln in lines]
    assert done == sorted(done) and done[-1] == 64 and all("/64 texts" in ln for ln in lines)
