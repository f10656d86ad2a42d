"""On-disk cache of text embeddings, keyed by model identity and text hash.

Layout: ``<cache_dir>/<model_key>/shard-*.npz``; each shard holds ``hashes``
(sha256 hex of each text) and ``vectors`` (float32). New vectors go to a new
shard written to a temporary file and renamed into place, so a process killed
mid-write never leaves a corrupt shard; many small shards are compacted into
one the same way.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from envs.errors import CacheError

COMPACT_AFTER = 16
STALE_TMP_SECONDS = 3600  # a temporary shard this old belongs to a writer that was killed


def default_cache_dir() -> Path:
    """``$BANDITSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/banditsim``, else ``~/.cache/banditsim``."""
    env = os.environ.get("BANDITSIM_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "banditsim"


def text_hash(text: str) -> str:
    """sha256 hex digest of a text (the cache key of one item).

    >>> text_hash("abc")[:12]
    'ba7816bf8f01'
    """
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def collection_key(hashes: Sequence[str]) -> str:
    """Short key naming a whole ordered set of texts (for manifests)."""
    h = hashlib.sha256()
    for x in hashes:
        h.update(x.encode())
    return h.hexdigest()[:16]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class EmbeddingCache:
    """Vectors of texts already embedded by one model.

    Examples
    --------
    >>> import tempfile
    >>> cache = EmbeddingCache(tempfile.mkdtemp(), model_key="m1")
    >>> cache.put(["h1"], np.ones((1, 3), dtype=np.float32))
    >>> found, missing = cache.get(["h1", "h2"])
    >>> sorted(found), missing
    (['h1'], ['h2'])
    """

    def __init__(self, cache_dir: str | Path, model_key: str):
        self.root = Path(cache_dir) / model_key
        self._table: dict[str, np.ndarray] | None = None

    def _shards(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(self.root.glob("shard-*.npz"))

    def _load(self) -> dict[str, np.ndarray]:
        if self._table is not None:
            return self._table
        table: dict[str, np.ndarray] = {}
        try:
            shards = self._shards()
        except PermissionError:
            raise CacheError(f"cannot read embedding cache directory {self.root}: permission denied") from None
        for shard in shards:
            try:
                with np.load(shard) as data:
                    hashes, vectors = data["hashes"], data["vectors"]
            except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
                continue  # an unreadable shard is ignored; its texts are re-embedded
            for h, v in zip(hashes.tolist(), vectors):
                table[h] = v
        self._table = table
        return table

    def get(self, hashes: Sequence[str]) -> tuple[dict[str, np.ndarray], list[str]]:
        """Split ``hashes`` into those cached (hash → vector) and those missing."""
        table = self._load()
        found = {h: table[h] for h in hashes if h in table}
        missing = [h for h in dict.fromkeys(hashes) if h not in table]
        return found, missing

    def put(self, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Store new vectors as one new shard (atomically), compacting if there are many."""
        if len(hashes) == 0:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        table = self._load()
        for h, v in zip(hashes, vectors):
            table[h] = v
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._remove_stale_temporaries()
            shards = self._shards()
            if len(shards) + 1 > COMPACT_AFTER:
                self._write_shard(list(table), np.stack(list(table.values())))
                for old in shards:
                    old.unlink(missing_ok=True)
            else:
                self._write_shard(list(hashes), vectors)
        except PermissionError:
            raise CacheError(
                f"embedding cache directory {self.root} is not writable; set BANDITSIM_CACHE_DIR "
                "or --cache-dir to a writable folder"
            ) from None
        except OSError as exc:
            raise CacheError(f"cannot write embedding cache in {self.root}: {exc.strerror or exc}") from None

    def _remove_stale_temporaries(self) -> None:
        """Delete temporary shard files left by writers killed mid-write (never read as shards)."""
        import time

        now = time.time()
        for tmp in self.root.glob(".tmp-*"):
            try:
                if now - tmp.stat().st_mtime > STALE_TMP_SECONDS:
                    tmp.unlink()
            except OSError:
                pass

    def _write_shard(self, hashes: list[str], vectors: np.ndarray) -> None:
        import io

        buf = io.BytesIO()
        np.savez(buf, hashes=np.array(hashes), vectors=vectors)
        name = f"shard-{os.getpid()}-{os.urandom(6).hex()}.npz"
        atomic_write_bytes(self.root / name, buf.getvalue())
