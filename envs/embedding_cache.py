"""On-disk cache of text embeddings, keyed by model identity and text hash.

Layout: ``<cache_dir>/<model_key>/shard-*.npz``. A shard (see :mod:`banditsim.envs.cache_shard`) records the
model key and dimension it was written for, the sha256 of each text, the vectors and a checksum;
a shard that fails any check on read is skipped (one warning line, moved aside to
``unreadable/``) and its texts are embedded again. New vectors go to a new shard written to a
temporary file and renamed into place, so a process killed mid-write never leaves a partial
shard. Writers take ``.lock`` (``fcntl.flock``) to add a shard; when there are more than
:data:`COMPACT_AFTER` shards the smallest are merged into one and exactly the merged ones are
deleted, so concurrent writers never lose each other's vectors.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from banditsim.envs.cache_shard import ShardError, read_shard, shard_bytes
from banditsim.envs.errors import CacheError
from banditsim.envs.file_digest import atomic_write_bytes

COMPACT_AFTER = 16
STALE_TMP_SECONDS = 3600  # a temporary shard this old belongs to a writer that was killed
LOCK_NAME = ".lock"
UNREADABLE_DIR = "unreadable"


def default_cache_dir() -> Path:
    """``$BANDITSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/banditsim``, else ``~/.cache/banditsim``."""
    env = os.environ.get("BANDITSIM_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "banditsim"


def warn(message: str) -> None:
    """Print one ``warning:`` line on stderr."""
    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()


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


class EmbeddingCache:
    """Vectors of texts already embedded by one model.

    ``dim`` (when given) is the only row width accepted, and ``unit_norm`` requires every row to
    have L2 norm 1 (within 1e-3): the embedding model's vectors. A shard that breaks either, or any
    other check of :func:`banditsim.envs.cache_shard.read_shard`, is never used.

    Examples
    --------
    >>> import tempfile
    >>> cache = EmbeddingCache(tempfile.mkdtemp(), model_key="m1", dim=3, unit_norm=True)
    >>> cache.put(["h1"], np.array([[0.6, 0.8, 0.0]], dtype=np.float32))
    >>> found, missing = cache.get(["h1", "h2"])
    >>> sorted(found), missing
    (['h1'], ['h2'])
    """

    def __init__(self, cache_dir: str | Path, model_key: str, dim: int | None = None, unit_norm: bool = False,
                 on_warning: Callable[[str], None] = warn):
        self.root = Path(cache_dir) / model_key
        self.model_key = model_key
        self.dim = dim
        self.unit_norm = unit_norm
        self.on_warning = on_warning
        self._table: dict[str, np.ndarray] | None = None
        self._written: list[Path] = []  # shards this instance wrote (for consolidate)

    # ------------------------------------------------------------------ reading
    def _shards(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(self.root.glob("shard-*.npz"))

    def _read(self, shard: Path) -> tuple[list[str], np.ndarray]:
        return read_shard(shard, self.model_key, self.dim, self.unit_norm)

    def _load(self) -> dict[str, np.ndarray]:
        if self._table is not None:
            return self._table
        table: dict[str, np.ndarray] = {}
        bad: dict[Path, str] = {}
        seen: set[Path] = set()
        try:
            for _ in range(8):  # a shard merged away while we listed: list again and read the merged one
                vanished = False
                for shard in self._shards():
                    if shard in seen:
                        continue
                    seen.add(shard)
                    try:
                        hashes, vectors = self._read(shard)
                    except FileNotFoundError:
                        vanished = True
                        continue
                    except ShardError as exc:
                        bad[shard] = str(exc)
                        continue
                    table.update(zip(hashes, vectors))
                if not vanished:
                    break
        except OSError as exc:
            self.on_warning(f"cannot read the embedding cache in {self.root} ({exc.strerror or exc}); "
                            "every text is embedded again")
        if bad:
            self._set_aside(bad)
        self._table = table
        return table

    def _set_aside(self, bad: dict[Path, str]) -> None:
        """Move unreadable shards to ``unreadable/`` (best effort) and say so in one line."""
        moved = 0
        try:
            with self._lock():
                (self.root / UNREADABLE_DIR).mkdir(exist_ok=True)
                for shard in bad:
                    try:
                        os.replace(shard, self.root / UNREADABLE_DIR / shard.name)
                        moved += 1
                    except FileNotFoundError:
                        pass
        except OSError:
            pass
        first, reason = next(iter(bad.items()))
        where = f"moved to {self.root / UNREADABLE_DIR}" if moved == len(bad) else "left in place"
        n = len(bad)
        self.on_warning(f"skipped {n} unreadable embedding cache shard{'s' if n > 1 else ''} in {self.root} "
                        f"({first.name}: {reason}; {where}); their texts are embedded again")

    def get(self, hashes: Sequence[str]) -> tuple[dict[str, np.ndarray], list[str]]:
        """Split ``hashes`` into those cached (hash → vector) and those missing."""
        table = self._load()
        found = {h: table[h] for h in hashes if h in table}
        missing = [h for h in dict.fromkeys(hashes) if h not in table]
        return found, missing

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _check_rows(self, hashes: Sequence[str], vectors: np.ndarray) -> None:
        if vectors.ndim != 2 or vectors.shape[0] != len(hashes):
            raise ValueError(f"put needs one row per hash: {len(hashes)} hashes, vectors of shape {vectors.shape}")
        if self.dim is not None and vectors.shape[1] != self.dim:
            raise ValueError(f"vectors have {vectors.shape[1]} dims, the cache holds {self.dim}")
        if not np.isfinite(vectors).all():
            raise ValueError("vectors contain NaN or infinity")
        if self.unit_norm and not np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3, rtol=0):
            raise ValueError("vectors are not unit-norm")

    def put(self, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Store new vectors as one new shard (atomically), compacting if there are many.

        Raises :class:`CacheError` when the cache folder cannot be written."""
        if len(hashes) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        hashes = [str(h) for h in hashes]
        self._check_rows(hashes, vectors)
        table = self._load()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with self._lock():
                self._remove_stale_temporaries()
                self._write_shard(hashes, vectors)
                shards = self._shards()
                if len(shards) > COMPACT_AFTER:
                    self._compact(shards, COMPACT_AFTER)
        except PermissionError:
            raise CacheError(
                f"embedding cache directory {self.root} is not writable; set BANDITSIM_CACHE_DIR "
                "or --cache-dir to a writable folder"
            ) from None
        except OSError as exc:
            raise CacheError(f"cannot write embedding cache in {self.root}: {exc.strerror or exc}") from None
        table.update(zip(hashes, vectors))

    def consolidate(self) -> None:
        """Merge the shards this instance wrote into one (after a run that wrote a shard per
        batch), so the next start reads few files. Raises :class:`CacheError` when the folder
        cannot be written."""
        try:
            with self._lock():
                mine = [p for p in dict.fromkeys(self._written) if p.exists()]
                if len(mine) > 1:
                    self._compact(mine, len(mine))
        except OSError as exc:
            raise CacheError(f"cannot write embedding cache in {self.root}: {exc.strerror or exc}") from None

    def _compact(self, shards: list[Path], limit: int) -> None:
        """Merge the ``limit`` smallest shards into one (called under the lock). Only shards read
        back whole are merged, and exactly those are deleted once the merged shard is in place."""
        sizes = []
        for s in shards:
            try:
                sizes.append((s.stat().st_size, s.name, s))
            except FileNotFoundError:
                pass
        merged: dict[str, np.ndarray] = {}
        done: list[Path] = []
        for _, _, shard in sorted(sizes)[:limit]:
            try:
                hashes, vectors = self._read(shard)
            except (ShardError, FileNotFoundError):
                continue  # left alone: readers skip it and set it aside
            merged.update(zip(hashes, vectors))
            done.append(shard)
        if len(done) < 2:
            return
        self._write_shard(list(merged), np.stack(list(merged.values())))
        for shard in done:
            shard.unlink(missing_ok=True)
        self._written = [p for p in self._written if p not in done]

    def _remove_stale_temporaries(self) -> None:
        """Delete temporary shard files left by writers killed mid-write (never read as shards)."""
        now = time.time()
        for tmp in self.root.glob(".tmp-*"):
            try:
                if now - tmp.stat().st_mtime > STALE_TMP_SECONDS:
                    tmp.unlink()
            except OSError:
                pass

    def _write_shard(self, hashes: list[str], vectors: np.ndarray) -> None:
        path = self.root / f"shard-{os.getpid()}-{os.urandom(6).hex()}.npz"
        atomic_write_bytes(path, shard_bytes(hashes, vectors, self.model_key))
        self._written.append(path)
