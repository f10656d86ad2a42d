"""The embedding cache under SIGKILL, and moved, cleared or unwritable (issue #9, items 2 and 5)."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from banditsim.envs.embedding import TextEmbedder, embed_texts
from banditsim.envs.embedding_cache import EmbeddingCache
from tests.reliability.rel_helpers import ITEMS, expected_vector, record_trust, wait_until

WRITER_KILLS = 8
EMBED_KILLS = 2


def _shard_files(root: Path) -> list[Path]:
    return sorted(root.glob("shard-*.npz"))


def _check_table(table: dict) -> None:
    """Every cached vector is exactly the one written for its hash."""
    hashes = list(table)
    got = np.stack([table[h] for h in hashes])
    want = np.stack([expected_vector(h) for h in hashes])
    np.testing.assert_array_equal(got, want)


def test_cache_writer_killed_mid_write_never_exposes_a_partial_shard(forkserver, tmp_path):
    """A child puts 200-vector shards as fast as it can (with compaction every 16 shards); it is
    SIGKILLed at random moments, or the moment a temporary shard file appears (mid-write). After each kill every ``shard-*.npz`` must load whole, every
    vector must be the one written for its hash, and every put the child reported done must be there."""
    rng = np.random.default_rng(9)
    cache_dir, key = tmp_path / "cache", "model-x"
    root = cache_dir / key
    killed_mid_write = 0
    for k in range(WRITER_KILLS):
        log = tmp_path / f"writer{k}.log"
        tmp_before = set(root.glob(".tmp-*"))
        pid = forkserver.start("tests.reliability.rel_helpers:cache_writer", [str(cache_dir), key, k], log)
        wait_until(lambda log=log: log.exists() and log.stat().st_size > 0, 30)  # first put done: imports are over
        if k % 2:  # the moment a new temporary shard file shows up: mid-write for sure
            wait_until(lambda old=tmp_before: bool(set(root.glob(".tmp-*")) - old), 5, interval=0.0005)
        else:
            time.sleep(float(rng.uniform(0.0, 0.5)))
        assert forkserver.kill(pid)["signal"] == 9
        done = {int(i) for s, i in re.findall(r"put (\d+) (\d+)", log.read_text())}
        killed_mid_write += bool(set(root.glob(".tmp-*")) - tmp_before)
        for shard in _shard_files(root):  # np.load of every visible shard must succeed
            with np.load(shard) as data:
                assert data["hashes"].shape[0] == data["vectors"].shape[0] > 0
        table = EmbeddingCache(cache_dir, key)._load()
        _check_table(table)
        missing = sorted(i for i in done if f"w{k}-{i % 20}-0" not in table or f"w{k}-{i % 20}-199" not in table)
        assert missing == [], f"puts reported done but lost after the kill: {missing}"
    # the cache still works after all that: a new put and a fresh load see everything, and
    # temporary files of killed writers are removed once they are old (an hour)
    leftovers = list(root.glob(".tmp-*"))
    assert len(leftovers) >= killed_mid_write
    old = time.time() - 2 * 3600
    for p in leftovers:
        os.utime(p, (old, old))
    cache = EmbeddingCache(cache_dir, key)
    cache.put(["after"], expected_vector("after")[None])
    assert "after" in EmbeddingCache(cache_dir, key)._load()
    assert list(root.glob(".tmp-*")) == []
    print(f"\ncache writer: {WRITER_KILLS} SIGKILLs, {killed_mid_write} of them mid-write (a temporary file "
          f"left, never a visible shard), {len(_shard_files(root))} shards")


@pytest.fixture(scope="module")
def texts():
    return [f"{t}. Genres: {g}" for t in ITEMS for g in ("Drama", "Comedy", "Sci-Fi")]  # 48 texts


def test_embedding_run_killed_at_random_points_then_rerun_is_identical(forkserver, texts, tmp_path):
    """``embed_texts`` in a child (model load, embedding, cache write) killed at random moments;
    then the cache loads, and a re-run gives the vectors of an uninterrupted run bit for bit."""
    rng = np.random.default_rng(4)
    reference = embed_texts(texts, cache_dir=tmp_path / "ref", progress=False,
                            embedder=TextEmbedder(device="cpu", batch_size=8)).vectors
    cache = tmp_path / "cache"
    for k in range(EMBED_KILLS):
        log = tmp_path / f"embed{k}.log"
        pid = forkserver.start("tests.reliability.rel_helpers:embed_child", [texts, str(cache), 8], log)
        wait_until(lambda pid=pid: not forkserver.alive(pid), float(rng.uniform(0.2, 2.5)))
        if forkserver.alive(pid):
            forkserver.kill(pid)
        else:
            forkserver.wait(pid)
        for shard in (cache).rglob("shard-*.npz"):
            with np.load(shard) as data:
                assert data["vectors"].shape == (data["hashes"].shape[0], 384)
    again = embed_texts(texts, cache_dir=cache, progress=False,
                        embedder=TextEmbedder(device="cpu", batch_size=8))
    np.testing.assert_array_equal(again.vectors, reference)
    final = embed_texts(texts, cache_dir=cache, progress=False)
    assert final.n_embedded == 0
    np.testing.assert_array_equal(final.vectors, reference)


def _run_embed(catalog: Path, cache: Path, capsys) -> tuple[int, tuple[int, int] | None, list[str], str]:
    """``banditsim embed`` in-process: exit code, (texts run through the model, items from cache),
    the ``warning:`` lines and all of stderr."""
    from banditsim.sim.cli import main

    capsys.readouterr()
    rc = main(["embed", "--catalog", str(catalog), "--cache-dir", str(cache), "--device", "cpu"])
    captured = capsys.readouterr()
    m = re.search(r"([\d,]+) distinct texts run through the model, ([\d,]+) items from cache", captured.out)
    counts = (int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))) if m else None
    return rc, counts, [line for line in captured.err.splitlines() if line.startswith("warning:")], captured.err


def _embed_cli(catalog: Path, cache: Path, capsys, warning: str | None = None) -> tuple[int, int]:
    """Exit 0 and (texts run through the model, items from cache); with ``warning``, stderr holds
    exactly one ``warning:`` line naming it, without, none."""
    rc, counts, warnings, err = _run_embed(catalog, cache, capsys)
    assert rc == 0 and counts is not None, err
    assert len(warnings) == (1 if warning else 0), err
    assert warning is None or warning in warnings[0], warnings
    return counts


def test_cache_dir_moved_cleared_and_unwritable(tiny_catalog, tmp_path, capsys):
    first = tmp_path / "first"
    assert _embed_cli(tiny_catalog, first, capsys) == (16, 0)
    vectors = embed_texts(ITEMS, cache_dir=first, progress=False).vectors
    # moved: the folder copied elsewhere (and the original removed) is a full cache hit
    moved = tmp_path / "elsewhere" / "moved"
    shutil.copytree(first, moved)
    shutil.rmtree(first)
    assert _embed_cli(tiny_catalog, moved, capsys) == (0, 16)
    hit = embed_texts(ITEMS, cache_dir=moved, progress=False)
    assert hit.n_embedded == 0
    np.testing.assert_array_equal(hit.vectors, vectors)
    # cleared: everything is embedded again, to the same vectors
    for p in moved.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    assert _embed_cli(tiny_catalog, moved, capsys) == (16, 0)
    np.testing.assert_array_equal(embed_texts(ITEMS, cache_dir=moved, progress=False).vectors, vectors)
    # unwritable: a cache folder under a regular file cannot be created, as root or not: one warning
    # line, and the command goes on with the vectors it computed (issue #15)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for name, cache_dir in (("cache dir under a regular file", blocker / "cache"),
                            ("cache dir is a regular file", blocker)):
        rc, counts, warnings, err = _run_embed(tiny_catalog, cache_dir, capsys)
        ok = rc == 0 and counts == (16, 0) and len(warnings) == 1 and "cannot write embedding cache" in warnings[0]
        outcome = "clear-error" if ok else "traceback" if "Traceback" in err else "wrong"
        record_trust("4 embedding cache", f"cli embed: {name}", outcome)
        assert ok, err
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions; the unwritable case is "
                    "covered by the cache folder under a regular file (test_cache_dir_moved_cleared_and_unwritable)")
def test_read_only_cache_dir(tiny_catalog, tmp_path, capsys):
    cache = tmp_path / "ro"
    assert _embed_cli(tiny_catalog, cache, capsys) == (16, 0)
    for p in [cache, *cache.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        assert _embed_cli(tiny_catalog, cache, capsys) == (0, 16)  # reading a read-only cache is fine
        other = tmp_path / "other.csv"
        other.write_text("id,title\n1,an item the cache has never seen\n")
        assert _embed_cli(other, cache, capsys, warning="not writable") == (1, 0)
    finally:
        for p in [cache, *cache.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
