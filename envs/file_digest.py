"""sha256 of whole files, memoised on disk by the file's identity so a warm start reads no weights.

The memo (``file-hashes.json`` in a folder the caller names, the embedding cache folder) maps a
file's real path to its size, mtime, ctime and inode and the digest computed for them. A digest is
reused only when all four still match; ctime and inode change whenever the file's bytes are
rewritten or the file is replaced, even by a copy that keeps the old mtime. A missing, corrupt or
unwritable memo only costs a re-hash, never a wrong digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

MEMO_NAME = "file-hashes.json"
MEMO_MAX_ENTRIES = 512
_CHUNK = 1 << 20


def umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc/self/status``)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _identity(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _read_memo(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename, with the user's umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_memo(path: Path, memo: dict) -> None:
    """Best effort: a memo that cannot be written is simply not there next time."""
    try:
        atomic_write_bytes(path, json.dumps(memo).encode("utf-8"))
    except OSError:
        pass


def sha256_file(path: Path) -> str:
    """sha256 hex digest of every byte of ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def file_digests(paths: list[Path], memo_dir: Path | None = None) -> list[str]:
    """sha256 of each file in ``paths``, reusing digests memoised in ``memo_dir`` for files whose
    size, mtime, ctime and inode are unchanged (and memoising the new ones there).

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> (d / "f").write_bytes(b"abc")
    3
    >>> file_digests([d / "f"], memo_dir=d)[0][:12]
    'ba7816bf8f01'
    """
    memo_path = Path(memo_dir) / MEMO_NAME if memo_dir is not None else None
    memo = _read_memo(memo_path) if memo_path is not None else {}
    out, changed = [], False
    for p in paths:
        real = os.path.realpath(p)
        ident = _identity(os.stat(real))
        entry = memo.get(real)
        if isinstance(entry, dict) and entry.get("id") == ident and isinstance(entry.get("sha256"), str):
            out.append(entry["sha256"])
            continue
        digest = sha256_file(Path(real))
        if _identity(os.stat(real)) != ident:  # rewritten while we read it: do not memoise
            out.append(digest)
            continue
        memo.pop(real, None)
        memo[real] = {"id": ident, "sha256": digest}
        changed = True
        out.append(digest)
    if changed and memo_path is not None:
        while len(memo) > MEMO_MAX_ENTRIES:  # oldest entries first (dicts keep insertion order)
            memo.pop(next(iter(memo)))
        _write_memo(memo_path, memo)
    return out
