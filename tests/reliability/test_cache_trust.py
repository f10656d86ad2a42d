"""The embedding cache can't hand back wrong vectors (issue #15, class 4, and class 1's ``embed``).

Forged and corrupt shards of every kind are skipped (one warning line) and their texts embedded
again; the model key changes with any byte of the weights, config or tokenizer; concurrent writers
never lose each other's vectors; a killed or interrupted embed keeps its finished batches; a cache
that cannot be written is one warning and the vectors are returned. Every adversarial case is
counted with ``record_trust`` before it is asserted.
"""

from __future__ import annotations

import errno
import io
import os
import time
import shutil
import signal
import zipfile
from pathlib import Path

import numpy as np
import pytest

from banditsim.envs import embedding as embedding_mod
from banditsim.envs import embedding_cache as cache_mod
from banditsim.envs.cache_shard import FORMAT, ShardError, checksum, read_shard, shard_bytes
from banditsim.envs.embedding import TextEmbedder, default_model_dir, embed_texts, model_key
from banditsim.envs.embedding_cache import EmbeddingCache, text_hash
from tests.reliability.rel_helpers import ITEMS, record_trust, wait_until

CLS = "4 embedding cache"
TEXTS = ITEMS[:6]
FORGED = 3  # the forged shard claims the first three texts


@pytest.fixture(scope="module")
def embedder():
    import torch

    torch.set_num_threads(1)
    return TextEmbedder(device="cpu", batch_size=8)


@pytest.fixture(scope="module")
def reference(embedder, tmp_path_factory):
    """Vectors of TEXTS, and the model key, from an uninterrupted run on an empty cache."""
    res = embed_texts(TEXTS, cache_dir=tmp_path_factory.mktemp("ref"), progress=False, embedder=embedder)
    return res.vectors, res.model_key


def _embed(texts, cache_dir, embedder, capsys):
    """embed_texts in-process: (result or None, warning lines, stderr, exception or None)."""
    capsys.readouterr()
    try:
        res, exc = embed_texts(texts, cache_dir=cache_dir, progress=False, embedder=embedder), None
    except Exception as e:  # noqa: BLE001 - recorded as a traceback, then re-raised by the caller
        res, exc = None, e
    err = capsys.readouterr().err
    return res, [line for line in err.splitlines() if line.startswith("warning:")], err, exc


# --------------------------------------------------------------------------- forged and corrupt shards
def _npz(fields: dict, compressed: bool = False) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **{k: v for k, v in fields.items() if v is not None})
    return buf.getvalue()


def _forged(key: str, ref: np.ndarray, compressed: bool = False, **over) -> bytes:
    """A shard claiming the first FORGED texts, holding other texts' vectors (so using it is
    visibly wrong), with ``over`` replacing fields; the checksum is recomputed from the fields
    unless given, so the check under test is what must reject it."""
    f = {"format": np.array(FORMAT), "model_key": np.array(key), "dim": np.array(384),
         "hashes": np.array([text_hash(t) for t in TEXTS[:FORGED]]), "vectors": ref[[1, 2, 0]]}
    f.update(over)
    if "checksum" not in over:
        try:
            f["checksum"] = np.array(checksum(str(f["model_key"][()]), int(f["dim"]), [str(h) for h in f["hashes"]],
                                              np.real(f["vectors"]).astype(np.float32)))
        except (TypeError, ValueError, IndexError):
            f["checksum"] = np.array("0" * 64)
    return _npz(f, compressed)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _huge_header(key: str, ref: np.ndarray) -> bytes:
    """A valid-looking shard whose vectors header claims 10**12 rows (must not be allocated)."""
    good = zipfile.ZipFile(io.BytesIO(_forged(key, ref)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name in good.namelist():
            data = good.read(name)
            if name == "vectors.npy":
                head = io.BytesIO()
                np.lib.format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False,
                                                            "shape": (10**12, 384)})
                data = head.getvalue() + ref[[1, 2, 0]].tobytes()
            zf.writestr(name, data)
    return buf.getvalue()


def _swap_within_row(key: str, ref: np.ndarray) -> bytes:
    """Two elements of one row swapped after the checksum was taken: still unit-norm, still
    float32 and 384 wide; only the checksum can tell."""
    true = ref[:FORGED].copy()
    hashes = [text_hash(t) for t in TEXTS[:FORGED]]
    bad = true.copy()
    bad[0, [0, 1]] = bad[0, [1, 0]] if bad[0, 0] != bad[0, 1] else bad[0, [1, 2]]
    return _npz({"format": np.array(FORMAT), "model_key": np.array(key), "dim": np.array(384),
                 "hashes": np.array(hashes), "vectors": bad, "checksum": np.array(checksum(key, 384, hashes, true))})


def _old_format(key: str, ref: np.ndarray) -> bytes:
    return _npz({"hashes": np.array([text_hash(t) for t in TEXTS[:FORGED]]), "vectors": ref[[1, 2, 0]]})


def _bytes_of(path_bytes):
    return lambda key, ref: path_bytes


def _flip_middle(key: str, ref: np.ndarray) -> bytes:
    data = bytearray(_forged(key, ref, vectors=ref[:FORGED]))
    data[len(data) // 2] ^= 0x40
    return bytes(data)


def _other_model_key() -> str:
    return model_key(default_model_dir(), max_length=8)  # the same weights, a different token limit


R = lambda ref: ref[[1, 2, 0]]  # noqa: E731 - the wrong rows, as written by a forger
# name -> builder(key, ref) -> shard bytes. Each must be skipped, with one warning line, and re-embedded.
REJECTED = {
    "vectors 3-D": lambda k, r: _forged(k, r, vectors=R(r)[:, None, :]),
    "vectors 1-D": lambda k, r: _forged(k, r, vectors=R(r).ravel()),
    "vectors 0-D": lambda k, r: _forged(k, r, vectors=np.float32(1.0)),
    "vectors one-hot int64 (unit norm)": lambda k, r: _forged(k, r, vectors=np.eye(FORGED, 384, dtype=np.int64)),
    "vectors int8": lambda k, r: _forged(k, r, vectors=(R(r) * 100).astype(np.int8)),
    "vectors float64": lambda k, r: _forged(k, r, vectors=R(r).astype(np.float64)),
    "vectors float16": lambda k, r: _forged(k, r, vectors=R(r).astype(np.float16)),
    "vectors big-endian float32": lambda k, r: _forged(k, r, vectors=R(r).astype(">f4")),
    "vectors complex64": lambda k, r: _forged(k, r, vectors=R(r).astype(np.complex64)),
    "dim 383 (renormalised)": lambda k, r: _forged(k, r, vectors=_unit(R(r)[:, :383]), dim=np.array(383)),
    "dim 768 (renormalised)": lambda k, r: _forged(k, r, vectors=_unit(np.hstack([R(r), R(r)])), dim=np.array(768)),
    "dim field says 384, rows 383 wide": lambda k, r: _forged(k, r, vectors=_unit(R(r)[:, :383])),
    "vectors a structured array": lambda k, r: _forged(
        k, r, vectors=np.array([(row,) for row in R(r)], dtype=[("v", "<f4", (384,))])),
    "dim field -384": lambda k, r: _forged(k, r, dim=np.array(-384)),
    "dim field 384.0 (float)": lambda k, r: _forged(k, r, dim=np.array(384.0)),
    "dim field a string": lambda k, r: _forged(k, r, dim=np.array("384")),
    "rows of norm 2": lambda k, r: _forged(k, r, vectors=2 * R(r)),
    "one row of norm 1.01": lambda k, r: _forged(k, r, vectors=R(r) * np.array([[1.0], [1.01], [1.0]], np.float32)),
    "all-zero rows": lambda k, r: _forged(k, r, vectors=np.zeros((FORGED, 384), np.float32)),
    "a NaN": lambda k, r: _forged(k, r, vectors=np.where(np.arange(384) == 7, np.nan, R(r)).astype(np.float32)),
    "an infinity": lambda k, r: _forged(k, r, vectors=np.where(np.arange(384) == 7, np.inf, R(r)).astype(np.float32)),
    "another model's key": lambda k, r: _forged(k, r, model_key=np.array(_other_model_key())),
    "model key missing": lambda k, r: _forged(k, r, model_key=None),
    "model key as a 1-element array": lambda k, r: _forged(k, r, model_key=np.array([k])),
    "old format (hashes + vectors only)": _old_format,
    "format version 1": lambda k, r: _forged(k, r, format=np.array("banditsim-embedding-shard/1")),
    "fewer hashes than rows": lambda k, r: _forged(k, r, hashes=np.array([text_hash(t) for t in TEXTS[:2]])),
    "more hashes than rows": lambda k, r: _forged(k, r, hashes=np.array([text_hash(t) for t in TEXTS[:4]])),
    "hashes 2-D": lambda k, r: _forged(k, r, hashes=np.array([[text_hash(t)] for t in TEXTS[:FORGED]])),
    "hashes as bytes": lambda k, r: _forged(k, r, hashes=np.array([text_hash(t).encode() for t in TEXTS[:FORGED]])),
    "hashes as Python objects (pickle)": lambda k, r: _forged(
        k, r, hashes=np.array([text_hash(t) for t in TEXTS[:FORGED]], dtype=object)),
    "a hash twice": lambda k, r: _forged(k, r, hashes=np.array([text_hash(TEXTS[0])] * 2 + [text_hash(TEXTS[2])])),
    "checksum missing": lambda k, r: _forged(k, r, checksum=None),
    "checksum of other vectors": lambda k, r: _forged(k, r, checksum=np.array(checksum(k, 384, ["x"], r[:1]))),
    "elements swapped after the checksum": _swap_within_row,
    "no rows": lambda k, r: _forged(k, r, vectors=np.zeros((0, 384), np.float32), hashes=np.array([], dtype="<U64")),
    "compressed npz": lambda k, r: _forged(k, r, compressed=True),
    "npy header claims 10**12 rows": _huge_header,
    "a byte flipped mid-file": _flip_middle,
    "truncated to half": lambda k, r: _forged(k, r)[: len(_forged(k, r)) // 2],
    "truncated by one byte": lambda k, r: _forged(k, r)[:-1],
    "zero bytes": _bytes_of(b""),
    "garbage bytes": _bytes_of(bytes(range(256)) * 8),
    "a plain .npy file": lambda k, r: (lambda b: (np.save(b, R(r)), b.getvalue())[1])(io.BytesIO()),
    "a pickle": _bytes_of(b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01."),
}


def _judge(key: str, res, warnings: list[str], err: str, exc, ref: np.ndarray, n_embedded: int, n_warnings: int):
    """Record the outcome of one case, then assert it."""
    if exc is not None or "Traceback" in err:
        outcome = "traceback"
    elif not np.allclose(res.vectors, ref, atol=1e-5) or res.n_embedded != n_embedded:
        outcome = "wrong"
    elif len(warnings) != n_warnings:
        outcome = "wrong"  # an unreadable shard must be reported once (and only once)
    else:
        outcome = "clear-error" if n_warnings else "correct"
    record_trust(CLS, key, outcome)
    if exc is not None:
        raise exc
    assert outcome in ("clear-error", "correct"), (key, outcome, res.n_embedded, warnings, err[-2000:])


@pytest.mark.parametrize("case", list(REJECTED))
def test_forged_or_corrupt_shard_is_skipped_and_reembedded(case, embedder, reference, tmp_path, capsys):
    ref, key = reference
    root = tmp_path / key
    root.mkdir()
    (root / "shard-forged.npz").write_bytes(REJECTED[case](key, ref))
    res, warnings, err, exc = _embed(TEXTS, tmp_path, embedder, capsys)
    _judge(f"shard: {case}", res, warnings, err, exc, ref, n_embedded=len(TEXTS), n_warnings=1)
    assert "shard-forged.npz" in warnings[0] and not (root / "shard-forged.npz").exists()
    assert (root / "unreadable" / "shard-forged.npz").exists()  # set aside: the next run is quiet
    again, warnings, err, exc = _embed(TEXTS, tmp_path, embedder, capsys)
    assert exc is None and warnings == [] and again.n_embedded == 0


def test_shard_directory_and_dangling_link(embedder, reference, tmp_path, capsys):
    ref, key = reference
    root = tmp_path / key
    root.mkdir()
    (root / "shard-a-folder.npz").mkdir()
    res, warnings, err, exc = _embed(TEXTS, tmp_path, embedder, capsys)
    _judge("shard: a folder named like a shard", res, warnings, err, exc, ref, len(TEXTS), 1)
    other = tmp_path / "other"
    (other / key).mkdir(parents=True)
    (other / key / "shard-dangling.npz").symlink_to(other / "gone.npz")
    res, warnings, err, exc = _embed(TEXTS, other, embedder, capsys)
    _judge("shard: a dangling symlink", res, warnings, err, exc, ref, len(TEXTS), 0)
    loop = tmp_path / "loop"
    (loop / key).mkdir(parents=True)
    (loop / key / "shard-loop.npz").symlink_to(loop / key / "shard-loop.npz")
    res, warnings, err, exc = _embed(TEXTS, loop, embedder, capsys)
    _judge("shard: a symlink to itself", res, warnings, err, exc, ref, len(TEXTS), 1)


def test_genuine_shards_are_used(embedder, reference, tmp_path, capsys):
    """What must be accepted: a copy of a shard, an extra field, Fortran order, hashes of texts
    not asked for; hashes that match nothing are simply not found."""
    ref, key = reference
    hashes = [text_hash(t) for t in TEXTS]
    good = shard_bytes(hashes, ref, key)
    fields = dict(np.load(io.BytesIO(good)))
    cases = {
        "a shard and its exact copy": [good, good],
        "an extra field": [_npz({**fields, "note": np.array("hello")})],
        "Fortran-ordered vectors": [_npz({**fields, "vectors": np.asfortranarray(ref)})],
        "hashes of other texts too": [shard_bytes(hashes + [text_hash("never asked")], np.vstack([ref, ref[:1]]), key)],
    }
    for name, shards in cases.items():
        cache = tmp_path / name.replace(" ", "-")
        (cache / key).mkdir(parents=True)
        for i, data in enumerate(shards):
            (cache / key / f"shard-{i}.npz").write_bytes(data)
        res, warnings, err, exc = _embed(TEXTS, cache, embedder, capsys)
        _judge(f"genuine: {name}", res, warnings, err, exc, ref, n_embedded=0, n_warnings=0)
    upper = tmp_path / "upper"
    (upper / key).mkdir(parents=True)
    (upper / key / "shard-0.npz").write_bytes(shard_bytes([h.upper() for h in hashes], ref[::-1].copy(), key))
    res, warnings, err, exc = _embed(TEXTS, upper, embedder, capsys)
    _judge("shard: hashes in upper case (match nothing)", res, warnings, err, exc, ref, len(TEXTS), 0)


def test_several_bad_shards_give_one_warning_line(embedder, reference, tmp_path, capsys):
    ref, key = reference
    (tmp_path / key).mkdir()
    for i, case in enumerate(["vectors 3-D", "a NaN", "garbage bytes", "another model's key"]):
        (tmp_path / key / f"shard-{i}.npz").write_bytes(REJECTED[case](key, ref))
    res, warnings, err, exc = _embed(TEXTS, tmp_path, embedder, capsys)
    _judge("four bad shards at once", res, warnings, err, exc, ref, len(TEXTS), 1)
    assert "4 unreadable" in warnings[0]


# --------------------------------------------------------------------------- the model key
def _model_copy(parent: Path) -> Path:
    """The packaged model under ``parent/m``: hard links, except the files a test will change."""
    src, dst = default_model_dir(), parent / "m"
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file():
            (shutil.copy2 if f.name in ("model.safetensors", "vocab.txt", "README.md") else os.link)(f, dst / f.name)
    return dst


def _patch_byte(path: Path, offset: int, keep_times: bool = True) -> None:
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(offset)
        b = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([b[0] ^ 0x01]))
    if keep_times:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime


def test_model_key_covers_every_byte_of_weights_config_and_tokenizer(embedder, reference, tmp_path, capsys,
                                                                    monkeypatch):
    """Two model folders of the same name differing in one byte near the end of the weights (a
    later layer) get different keys, so one never reads the other's vectors; so do a changed
    tokenizer, an added weight file and a changed token limit. A changed README does not matter.
    The memo makes a warm start read no weights, and never hides a rewrite that kept size and mtime."""
    memo = tmp_path / "cache"
    a, b = _model_copy(tmp_path / "a"), _model_copy(tmp_path / "b")
    base = model_key(a, memo_dir=memo)

    def differs(name: str, folder: Path, want_same: bool = False, **kw) -> None:
        new = model_key(folder, memo_dir=memo, **kw)
        record_trust(CLS, f"model key: {name}", "correct" if (new == base) == want_same else "wrong")
        assert (new == base) == want_same, name

    differs("identical copy elsewhere", b, want_same=True)
    size = (b / "model.safetensors").stat().st_size
    _patch_byte(b / "model.safetensors", size - 1000)  # size and mtime unchanged; only ctime/inode tell
    differs("one weight byte near the end, size and mtime kept", b)
    # and the vectors follow the key: the changed model's text is embedded, not read from a's shards
    embed_texts(TEXTS[:1], cache_dir=memo, progress=False, embedder=TextEmbedder(a, device="cpu"))
    res, warnings, err, exc = _embed(TEXTS[:1], memo, TextEmbedder(b, device="cpu"), capsys)
    outcome = "traceback" if exc else "correct" if res.n_embedded == 1 and not warnings else "wrong"
    record_trust(CLS, "model key: changed model embeds, never reads the other's vectors", outcome)
    assert outcome == "correct"
    c = _model_copy(tmp_path / "c")
    _patch_byte(c / "vocab.txt", 5000, keep_times=False)
    differs("one tokenizer vocabulary byte", c)
    d = _model_copy(tmp_path / "d")
    (d / "pytorch_model.bin").write_bytes(b"extra weights")
    differs("an extra weight file", d)
    differs("token limit 128", a, max_length=128)
    e = _model_copy(tmp_path / "e")
    (e / "README.md").write_text("a different model card")
    differs("README changed (inert)", e, want_same=True)
    (memo / "file-hashes.json").write_text("{not json")
    differs("memo file corrupt", a, want_same=True)
    # warm start: with the memo in place, computing the key reads no file contents
    reads = []
    real = embedding_mod.file_digests.__globals__["sha256_file"]
    monkeypatch.setitem(embedding_mod.file_digests.__globals__, "sha256_file", lambda p: reads.append(p) or real(p))
    assert model_key(a, memo_dir=memo) == base and reads == []


# --------------------------------------------------------------------------- concurrent writers
def concurrent_writer(cache_dir: str, key: str, tag: str, n_puts: int, compact_after: int) -> int:
    """Child: ``n_puts`` shards of 20 unit vectors each, compacting every ``compact_after`` shards."""
    cache_mod.COMPACT_AFTER = compact_after
    cache = EmbeddingCache(cache_dir, key, dim=384, unit_norm=True)
    for i in range(n_puts):
        hashes = [f"{tag}-{i}-{j}" for j in range(20)]
        cache.put(hashes, np.stack([_vector(h) for h in hashes]))
    print(f"done {tag}", flush=True)
    return 0


def _vector(h: str) -> np.ndarray:
    rng = np.random.default_rng(int(text_hash(h)[:8], 16))
    return _unit(rng.standard_normal(384))


def test_two_writers_on_one_cache_lose_nothing(forkserver, tmp_path):
    """Two processes put 40 shards each into one cache, compacting every 4 shards: every vector of
    both must be there at the end, exactly as written."""
    key, n = "concurrent-model", 40
    logs = [tmp_path / f"w{i}.log" for i in range(2)]
    pids = [forkserver.start("tests.reliability.test_cache_trust:concurrent_writer",
                             [str(tmp_path), key, f"w{i}", n, 4], logs[i]) for i in range(2)]
    codes = [forkserver.wait(pid)["exit"] for pid in pids]
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    table = EmbeddingCache(tmp_path, key, dim=384, unit_norm=True)._load()
    want = [f"w{w}-{i}-{j}" for w in range(2) for i in range(n) for j in range(20)]
    lost = [h for h in want if h not in table]
    record_trust(CLS, "two writers, 40 puts each, compaction every 4", "correct" if not lost else "wrong")
    assert lost == [], f"{len(lost)} of {len(want)} vectors lost, e.g. {lost[:3]}"
    np.testing.assert_array_equal(np.stack([table[h] for h in want]), np.stack([_vector(h) for h in want]))
    assert len(list((tmp_path / key).glob("shard-*.npz"))) <= 5


def test_compaction_keeps_shards_written_after_our_read(tmp_path):
    """One process read the cache; another then added shards; the first one's compaction must not
    delete what it never read (the old code merged its stale table and deleted every shard)."""
    key = "stale-reader"
    first = EmbeddingCache(tmp_path, key, dim=384, unit_norm=True)
    first.get(["nothing"])  # reads the (empty) cache now
    other = EmbeddingCache(tmp_path, key, dim=384, unit_norm=True)
    theirs = [f"other-{i}" for i in range(cache_mod.COMPACT_AFTER)]
    for h in theirs:
        other.put([h], _vector(h)[None])
    first.put(["mine"], _vector("mine")[None])  # one shard too many: compaction
    table = EmbeddingCache(tmp_path, key, dim=384, unit_norm=True)._load()
    lost = [h for h in theirs + ["mine"] if h not in table]
    record_trust(CLS, "compaction by a process that read before another wrote", "correct" if not lost else "wrong")
    assert lost == []
    assert len(list((tmp_path / key).glob("shard-*.npz"))) < cache_mod.COMPACT_AFTER


def embed_child(texts: list, cache_dir: str, batch_size: int, flush_seconds: float, compact_after: int) -> int:
    """Child: embed ``texts`` one batch at a time; says ``loaded`` once the model is in memory and
    ``batch`` after each batch the model finished."""
    import signal

    import torch

    # Ctrl-C raises KeyboardInterrupt here, as in a user's own process, whatever SIGINT disposition
    # the fork server inherited from the test process (an ignored SIGINT is inherited across fork)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    torch.set_num_threads(1)
    embedding_mod.FLUSH_SECONDS = flush_seconds
    cache_mod.COMPACT_AFTER = compact_after
    add = embedding_mod._BatchSaver.add

    def add_and_say(self, idx, vectors):
        add(self, idx, vectors)
        print("batch", flush=True)
        time.sleep(0.25)  # leaves the parent time to signal mid-run, however loaded the machine
    embedding_mod._BatchSaver.add = add_and_say
    emb = TextEmbedder(device="cpu", batch_size=batch_size)
    emb._load()
    print("loaded", flush=True)
    res = embed_texts(texts, cache_dir=cache_dir, progress=False, embedder=emb)
    print(f"embedded {res.n_embedded} cached {res.n_cached}", flush=True)
    return 0


MANY = [f"{t}, part {i}" for i in range(3) for t in ITEMS]  # 48 distinct texts


@pytest.fixture(scope="module")
def many_reference(embedder, tmp_path_factory):
    return embed_texts(MANY, cache_dir=tmp_path_factory.mktemp("many"), progress=False, embedder=embedder).vectors


def test_two_embeds_on_one_cache_lose_nothing(forkserver, embedder, many_reference, tmp_path, capsys):
    """Two ``embed`` processes, overlapping two-thirds of 24 texts, one shard per batch of 2 and
    compaction every 4 shards: afterwards every text is a cache hit, with the right vector."""
    halves = [MANY[:16], MANY[8:24]]
    logs = [tmp_path / f"e{i}.log" for i in range(2)]
    pids = [forkserver.start("tests.reliability.test_cache_trust:embed_child",
                             [halves[i], str(tmp_path / "cache"), 2, 0.0, 4], logs[i]) for i in range(2)]
    codes = [forkserver.wait(pid)["exit"] for pid in pids]
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    ref = many_reference[:24]
    res, warnings, err, exc = _embed(MANY[:24], tmp_path / "cache", embedder, capsys)
    _judge("two embed processes on one cache", res, warnings, err, exc, ref, n_embedded=0, n_warnings=0)


# --------------------------------------------------------------------------- interrupted embeds
@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_interrupted_embed_keeps_finished_batches(how, forkserver, embedder, many_reference, tmp_path, capsys):
    """SIGKILL once the first shard is on disk (batches flushed every 0.2 s), or SIGINT after the
    first batch while batches are held in memory (no flush until the end): the finished batches
    are in the cache, whole, and the rerun embeds only the rest, to an uninterrupted run's vectors."""
    cache, log = tmp_path / "cache", tmp_path / "child.log"
    flush = 0.2 if how == "SIGKILL" else 1e9
    pid = forkserver.start("tests.reliability.test_cache_trust:embed_child", [MANY, str(cache), 2, flush, 16], log)
    if how == "SIGKILL":
        wait_until(lambda: any(cache.rglob("shard-*.npz")), 60)
        forkserver.kill(pid)
    else:
        wait_until(lambda: log.exists() and "batch" in log.read_text(), 60)
        os.kill(pid, signal.SIGINT)
        assert wait_until(lambda: not forkserver.alive(pid), 10)
        forkserver.wait(pid)
    assert "embedded" not in log.read_text(), "the child finished before it was interrupted"
    shards = list(cache.rglob("shard-*.npz"))
    on_disk = 0
    for shard in shards:  # every visible shard is whole
        on_disk += len(read_shard(shard, shard.parent.name, 384, unit_norm=True)[0])
    res, warnings, err, exc = _embed(MANY, cache, embedder, capsys)
    _judge(f"embed interrupted by {how}: rerun", res, warnings, err, exc, many_reference,
           n_embedded=len(MANY) - on_disk, n_warnings=0)
    assert 0 < res.n_cached == on_disk < len(MANY)


# --------------------------------------------------------------------------- unwritable caches
def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _fail_after(n: int, exc: OSError):
    calls = []
    real = cache_mod.atomic_write_bytes

    def write(*args, **kwargs):
        calls.append(1)
        if len(calls) > n:
            raise exc
        return real(*args, **kwargs)
    return write


UNWRITABLE = {
    "cache dir is a regular file": (lambda d, key: d.write_text("x") and d, None),
    "cache dir under a regular file": (lambda d, key: d.write_text("x") and d / "sub", None),
    "model folder is a regular file": (lambda d, key: (d.mkdir(), (d / key).write_text("x")) and d, None),
    "lock file is a folder": (lambda d, key: (d / key / ".lock").mkdir(parents=True) or d, None),
    "disk full (ENOSPC) on every write": (lambda d, key: d, _enospc),
    "disk full (ENOSPC) after two shards": (lambda d, key: d, _fail_after(2, OSError(errno.ENOSPC, "No space left"))),
    "read-only file system (EROFS)": (lambda d, key: d, _fail_after(0, OSError(errno.EROFS, "Read-only file system"))),
    "permission denied (EACCES)": (lambda d, key: d,
                                   _fail_after(0, PermissionError(errno.EACCES, "Permission denied"))),
    "quota exceeded (EDQUOT)": (lambda d, key: d, _fail_after(1, OSError(errno.EDQUOT, "Disk quota exceeded"))),
}


@pytest.mark.parametrize("case", list(UNWRITABLE))
def test_unwritable_cache_is_one_warning_and_the_vectors_are_returned(case, embedder, reference, tmp_path, capsys,
                                                                     monkeypatch):
    """Several batches (one shard each): one warning line, no more tries, every vector returned."""
    ref, key = reference
    make, writer = UNWRITABLE[case]
    cache_dir = make(tmp_path / "cache", key)
    if writer is not None:
        monkeypatch.setattr(cache_mod, "atomic_write_bytes", writer)
    monkeypatch.setattr(embedding_mod, "FLUSH_SECONDS", 0.0)
    small = TextEmbedder(device="cpu", batch_size=2)
    small._key = key  # the key is tested above; hashing the weights again here would only cost time
    small._model, small._tokenizer, small.device = embedder._model, embedder._tokenizer, embedder.device
    res, warnings, err, exc = _embed(TEXTS, cache_dir, small, capsys)
    _judge(f"unwritable: {case}", res, warnings, err, exc, ref, n_embedded=len(TEXTS), n_warnings=1)
    assert "cannot write" in warnings[0] or "not writable" in warnings[0], warnings


def test_a_finished_embed_leaves_one_shard_per_run(embedder, reference, tmp_path, monkeypatch):
    """A shard per batch while embedding (so an interrupt keeps them), merged into one at the end
    (so a warm start reads one file); shards of other runs are left as they are."""
    ref, key = reference
    monkeypatch.setattr(embedding_mod, "FLUSH_SECONDS", 0.0)
    small = TextEmbedder(device="cpu", batch_size=2)
    small._key, small._model, small._tokenizer, small.device = key, embedder._model, embedder._tokenizer, "cpu"
    first = embed_texts(TEXTS[:3], cache_dir=tmp_path, progress=False, embedder=small)
    second = embed_texts(TEXTS, cache_dir=tmp_path, progress=False, embedder=small)
    shards = sorted((tmp_path / key).glob("shard-*.npz"))
    rows = sorted(len(read_shard(s, key, 384, unit_norm=True)[0]) for s in shards)
    assert (first.n_embedded, second.n_embedded, second.n_cached, rows) == (3, 3, 3, [3, 3])
    np.testing.assert_allclose(second.vectors, ref, atol=1e-5)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_cache_files_get_the_users_umask(mask, tmp_path):
    """Shards and the digest memo are created with the user's umask (mkstemp alone gives 0600)."""
    old = os.umask(mask)
    try:
        cache = EmbeddingCache(tmp_path, "k", dim=384, unit_norm=True)
        cache.put(["a"], _vector("a")[None])
        model_key(default_model_dir(), memo_dir=tmp_path)
    finally:
        os.umask(old)
    files = [*(tmp_path / "k").glob("shard-*.npz"), tmp_path / "file-hashes.json"]
    assert len(files) == 2
    assert {oct(f.stat().st_mode & 0o777) for f in files} == {oct(0o666 & ~mask)}


def test_reader_racing_a_compaction_finds_the_merged_shard(tmp_path):
    """A reader lists two shards; before it opens them another process merges them into a third
    and deletes both. The reader must list again and read the merged shard, not lose the rows."""
    key = "racing"
    writer = EmbeddingCache(tmp_path, key, dim=384, unit_norm=True)
    for h in ("a", "b"):
        writer.put([h], _vector(h)[None])
    reader = EmbeddingCache(tmp_path, key, dim=384, unit_norm=True)
    read = reader._read
    raced = []

    def read_after_a_compaction(shard):
        if not raced:
            raced.append(1)
            other = EmbeddingCache(tmp_path, key, dim=384, unit_norm=True)
            with other._lock():
                other._compact(other._shards(), 2)
        return read(shard)
    reader._read = read_after_a_compaction
    found, missing = reader.get(["a", "b"])
    record_trust(CLS, "reader racing a compaction", "correct" if not missing else "wrong")
    assert raced and missing == [] and len(list((tmp_path / key).glob("shard-*.npz"))) == 1
    np.testing.assert_array_equal(found["a"], _vector("a"))


def test_random_damage_is_rejected_or_harmless(reference, tmp_path):
    """400 damaged copies of a genuine shard (a random byte changed, or cut at a random length):
    each is either rejected with ShardError or reads back exactly the genuine rows (the byte was
    in a part that holds no data, such as a zip timestamp)."""
    ref, key = reference
    hashes = [text_hash(t) for t in TEXTS]
    good = shard_bytes(hashes, ref, key)
    rng = np.random.default_rng(15)
    path = tmp_path / "shard-fuzz.npz"
    outcomes = {"rejected": 0, "exact": 0, "wrong": 0, "traceback": 0}
    for i in range(400):
        data = bytearray(good)
        if i < 300:
            data[int(rng.integers(len(data)))] ^= int(rng.integers(1, 256))
        else:
            del data[int(rng.integers(len(data))):]
        path.write_bytes(bytes(data))
        try:
            got_hashes, got = read_shard(path, key, 384, unit_norm=True)
        except ShardError:
            outcomes["rejected"] += 1
            continue
        except Exception:  # noqa: BLE001 - counted, then failed below
            outcomes["traceback"] += 1
            continue
        exact = got_hashes == hashes and np.array_equal(got, ref)
        outcomes["exact" if exact else "wrong"] += 1
    bad = outcomes["wrong"] or outcomes["traceback"]
    record_trust(CLS, "fuzz: 300 byte changes + 100 cuts of a genuine shard",
                 "wrong" if outcomes["wrong"] else "traceback" if bad else "clear-error")
    assert not bad, outcomes
    assert outcomes["rejected"] > 300, outcomes
