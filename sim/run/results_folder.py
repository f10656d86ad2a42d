"""One writer per results folder: an exclusive lock taken before any work, released on every exit.

The lock is ``fcntl.flock`` on ``<out>/.banditsim.lock``, which records the holder's pid. The kernel
drops a flock when its process dies, so a lock left by a killed run never blocks: the next command
simply takes it over. The lock file is unlinked on release; a waiter that then holds a lock on the
unlinked file notices (the inode at the path changed) and tries again, so two writers can never both
believe they hold the folder.

Each command claims a folder of its own kind: ``run`` a folder holding ``manifest.json`` (or nothing),
``ope`` one holding ``ope.json``, ``abtest`` one holding ``abtest.json``. A non-empty folder of any
other kind is refused before any work, so ``banditsim ope --out <a run's folder>`` cannot overwrite
that run's files.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from banditsim.envs.errors import BanditsimError
from banditsim.sim.atomic import is_partial

LOCK_NAME = ".banditsim.lock"

#: command -> the file that marks a folder as written by it
MARKERS = {"run": "manifest.json", "ope": "ope.json", "abtest": "abtest.json", "fidelity": "fidelity.json"}


def check_out_path(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or lies under a file, before any work is done.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a-file"
    >>> _ = f.write_text("x")
    >>> check_out_path(f / "run")
    Traceback (most recent call last):
    ...
    banditsim.envs.errors.BanditsimError: cannot create output folder ...a-file/run: ...a-file is not a folder
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BanditsimError(f"output path {out} exists and is not a folder; choose another --out")
    if not out.exists():
        parent = next((p for p in out.absolute().parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise BanditsimError(f"cannot create output folder {out}: {parent} is not a folder")


def foreign_contents(out: Path, kind: str) -> str | None:
    """Why folder ``out`` is not ``kind``'s to write (a file name), or None if it is.

    Empty folders, lock files and this module's partial files belong to nobody.
    """
    names = {p.name for p in out.iterdir() if p.name != LOCK_NAME and not is_partial(p)}
    if not names or MARKERS[kind] in names:
        return None
    for other, marker in MARKERS.items():
        if marker in names:
            return f"it holds a banditsim {other} result ({marker})"
    return f"it is not empty and holds no {kind} result ({min(names)})"


def _holder(lock: Path) -> str:
    try:
        pid = lock.read_text().split()[0]
        return f" (pid {int(pid)})"
    except (OSError, ValueError, IndexError):
        return ""


@contextmanager
def claimed(out: str | Path, kind: str, discard_on_failure: bool = False) -> Iterator[Path]:
    """Hold ``out`` exclusively for one ``kind`` command; create the folder if needed.

    On any exit the lock is released, and a folder this call created is removed again if
    nothing but the lock was written into it (a failed command leaves no empty result behind).
    With ``discard_on_failure`` (commands whose output is only whole when they finish: ``ope``,
    ``abtest``, ``fidelity``) a folder this call created is removed with everything in it when the
    block fails or is interrupted, so no half-written result is left; ``run`` keeps its finished
    cells for ``--resume`` instead.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run1"
    >>> with claimed(out, "run"):
    ...     with claimed(out, "run"):
    ...         pass
    Traceback (most recent call last):
    ...
    banditsim.envs.errors.BanditsimError: results folder ... is in use by another banditsim command (pid ...); wait for it or choose another --out
    >>> out.exists()
    False
    """
    import fcntl

    out = Path(out)
    check_out_path(out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK_NAME
    fd = None
    try:
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                fd = None
                raise BanditsimError(f"results folder {out} is in use by another banditsim command"
                                     f"{_holder(lock)}; wait for it or choose another --out") from None
            try:
                same = os.stat(lock).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the previous holder unlinked the file we locked: lock the new one
            fd = None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        why = foreign_contents(out, kind)
        if why:
            raise BanditsimError(f"output folder {out} is not a {kind} results folder: {why}; choose "
                                 "another --out")
        try:
            yield out
        except BaseException:
            if discard_on_failure and created:
                _remove_contents(out)
            raise
    finally:
        if fd is not None:
            try:
                lock.unlink(missing_ok=True)
            finally:
                os.close(fd)
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()


def _remove_contents(out: Path) -> None:
    """Delete everything in ``out`` but the lock (still held; released and unlinked right after)."""
    import shutil

    for p in out.iterdir():
        if p.name == LOCK_NAME:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
