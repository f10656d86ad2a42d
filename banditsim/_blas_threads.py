"""One BLAS thread around small hot products: the world's steps and fits, the linear agents' calls.

Those products are small (a few rows against a few thousand columns), so waking BLAS worker
threads costs more than it gains, and on a busy machine far more.  The limit is set around the
call only and the previous setting restored after it.  :func:`one_blas_thread` limits the BLAS
libraries (the world's numbers are numpy's; a torch world keeps torch's own setting);
:func:`one_blas_and_torch_thread` also limits torch's intra-op pool when torch is loaded (the
agents' small tensors lose to its wake-ups).  This module imports neither ``envs``, ``agents`` nor
``sim``, so all three may use it.

The libraries are found once by threadpoolctl (again only when ``sys.modules`` has grown, so a
BLAS or torch loaded later is limited too) and their own ``get``/``set`` entry points are then
called directly: OpenBLAS's two C functions through ctypes.  That costs a small fraction of
threadpoolctl's ``threadpool_limits`` block per use (figures: bench/README.md) and avoids
threadpoolctl's rule that only the first thread to set an OpenBLAS limit may set it, under which a
limit would silently do nothing in any other thread.

Threads: a process-wide pool (OpenBLAS on pthreads) is limited by the first use open and restored
when the last one closes (nested ones and other threads' counted, under a lock), so one thread
leaving never lifts the limit under another; a per-thread setting (torch's OpenMP pool, OpenBLAS
on OpenMP) is saved and restored by each thread.  A forked child, where no use is open, restores
what the parent's uses had set.  The two limits are counted apart: a world step and an agent call
overlapping in two threads can lift each other's limit early (not done anywhere here; the thread
count always comes back).
"""

from __future__ import annotations

import os
import sys
import threading


def _mine(local: threading.local) -> list:
    """This thread's [depth in uses, per-thread settings to restore] (one thread-local read)."""
    try:
        return local.mine
    except AttributeError:
        local.mine = mine = [0, None]
        return mine


class _State:
    """Everything that changes at run time for one limit, on one object (the module's names are never rebound)."""

    def __init__(self, limit_torch: bool):
        self.limit_torch = limit_torch  # torch's intra-op pool too, when torch is loaded
        self.lock = threading.Lock()
        self.uses = 0  # uses open now, nested ones and other threads' included
        self.saved: list = []  # (set, n) of the process-wide knobs, limited by the first use
        self.shared: tuple = ()  # process-wide knobs: (get, set, key) each
        self.per_thread: tuple = ()  # knobs whose setting belongs to the calling thread
        self.track = False  # per-thread knobs were ever found: from then on each thread keeps a depth
        self.local = threading.local()  # .mine: see _mine (kept once a per-thread knob exists)
        self.seen = -1  # len(sys.modules) at the last scan


def _symbol(ctl, name: str):
    """A library's own C entry point through threadpoolctl's controller (None where it has none)."""
    find = getattr(ctl, "_get_symbol", None)
    return find(name) if find is not None else None


def _blas_knobs() -> tuple[list, list] | None:
    """(process-wide, per-thread) knobs of the BLAS libraries loaded now; None if threadpoolctl cannot tell."""
    try:
        from threadpoolctl import ThreadpoolController

        ctls = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
    except (ImportError, OSError, RuntimeError, AttributeError):  # missing, or unable to inspect
        return None
    shared, per_thread = [], []
    for c in ctls:
        key = getattr(c, "filepath", None) or id(c)
        openmp = getattr(c, "threading_layer", None) == "openmp"
        get, set_ = _symbol(c, "openblas_get_num_threads"), _symbol(c, "openblas_set_num_threads")
        if c.internal_api == "openblas" and not openmp and get is not None and set_ is not None:
            shared.append((get, set_, key))  # direct: no controlling-thread rule, no Python layers
        else:  # OpenBLAS on OpenMP (per thread), MKL, BLIS, FlexiBLAS: through the controller
            (per_thread if openmp else shared).append((c.get_num_threads, c.set_num_threads, key))
    return shared, per_thread


def _torch_knob(per_thread: list, shared: list) -> None:
    """torch's intra-op pool, if torch is loaded: per thread on its OpenMP backend, else process-wide."""
    torch = sys.modules.get("torch")
    if torch is None or not hasattr(torch, "set_num_threads"):
        return
    try:
        openmp = "parallel backend: OpenMP" in torch.__config__.parallel_info()
    except (AttributeError, RuntimeError):
        openmp = True
    (per_thread if openmp else shared).append((torch.get_num_threads, torch.set_num_threads, "torch"))


def _limit(knobs) -> list:
    """Set each knob above one thread to one; returns the (set, n) to restore."""
    saved = []
    for get, set_, _ in knobs:
        n = get()
        if n is not None and n > 1:
            set_(1)
            saved.append((set_, n))
    return saved


def _restore(saved) -> None:
    for set_, n in reversed(saved):
        set_(n)


def _scan(s: _State) -> None:
    """Find the libraries again (``sys.modules`` grew); under ``s.lock``.  A process-wide library
    found while threads are inside is limited now and restored with the others."""
    found = _blas_knobs()
    shared, per_thread = (list(s.shared), list(s.per_thread)) if found is None else found
    per_thread = [k for k in per_thread if k[2] != "torch"]
    shared = [k for k in shared if k[2] != "torch"]
    if s.limit_torch:
        _torch_knob(per_thread, shared)
    if s.uses:
        known = {k[2] for k in s.shared}
        s.saved.extend(_limit([k for k in shared if k[2] not in known]))
    s.shared, s.per_thread = tuple(shared), tuple(per_thread)
    s.track = s.track or bool(per_thread)
    s.seen = len(sys.modules)


class _OneThread:
    """Reusable, re-entrant, thread-safe context manager: BLAS libraries (and torch's intra-op
    pool, if its state limits torch and torch is loaded) run on one thread inside it."""

    __slots__ = ("_s",)

    def __init__(self, state: _State):
        self._s = state

    def __enter__(self):  # written out: it wraps every small product, where each call counts
        s = self._s
        lock = s.lock
        lock.acquire()
        try:
            if len(sys.modules) != s.seen:
                _scan(s)
            if not s.uses:
                saved = s.saved = []
                for get, set_, _ in s.shared:
                    n = get()
                    if n is not None and n > 1:
                        set_(1)
                        saved.append((set_, n))
            s.uses += 1
        finally:
            lock.release()
        if s.track:
            try:
                try:
                    mine = s.local.mine
                except AttributeError:
                    mine = _mine(s.local)
                if not mine[0]:
                    mine[1] = saved = []
                    for get, set_, _ in s.per_thread:
                        n = get()
                        if n is not None and n > 1:
                            set_(1)
                            saved.append((set_, n))
                mine[0] += 1
            except BaseException:
                self.__exit__()
                raise
        return self

    def __exit__(self, *exc):
        s = self._s
        try:
            if s.track:  # never unset: a use opened before it has depth 0 here (uses nest in a thread)
                try:
                    mine = s.local.mine
                except AttributeError:
                    mine = _mine(s.local)
                if mine[0]:
                    mine[0] -= 1
                    if not mine[0] and mine[1]:
                        saved, mine[1] = mine[1], None
                        _restore(saved)
        finally:
            lock = s.lock
            lock.acquire()
            try:
                s.uses -= 1
                if s.uses <= 0:  # below zero only after a fork from inside a use
                    s.uses = 0
                    saved, s.saved = s.saved, []
                    for set_, n in saved:
                        set_(n)
            finally:
                lock.release()
        return False


_BLAS = _OneThread(_State(limit_torch=False))
_BLAS_AND_TORCH = _OneThread(_State(limit_torch=True))


def _after_fork_in_child() -> None:
    """Only the forking thread lives on: no use is open in the child; restore what the parent's uses had set."""
    for one in (_BLAS, _BLAS_AND_TORCH):
        s = one._s
        s.lock = threading.Lock()
        s.uses = 0  # a fork from inside a use (never done here) leaves the rest of that use unlimited in the child
        saved, s.saved = s.saved, []
        _restore(saved)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def one_blas_thread() -> _OneThread:
    """Context manager limiting the BLAS libraries to one thread (a no-op without threadpoolctl).

    >>> import numpy as np
    >>> with one_blas_thread():
    ...     float((np.ones((2, 3)) @ np.ones(3))[0])
    3.0
    """
    return _BLAS


def one_blas_and_torch_thread() -> _OneThread:
    """:func:`one_blas_thread`, and torch's intra-op pool on one thread too when torch is loaded.

    >>> import numpy as np
    >>> with one_blas_and_torch_thread():
    ...     float((np.ones((2, 3)) @ np.ones(3))[0])
    3.0
    """
    return _BLAS_AND_TORCH
