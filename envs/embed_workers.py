"""Model calls for planned batches, run side by side on worker threads (one torch thread each).

A small transformer on short texts is a chain of small matrix products: split across two threads
each product waits at a barrier for the slower one, so two intra-op threads gain little over one
even on an idle machine, and beside other busy processes they lose (one descheduled thread stalls
every operator; figures: bench/README.md). Two workers that each run whole batches with one torch
thread share nothing but the weights and never wait for each other: the cores stay busy whatever
the load (torch releases the GIL inside its operators).

:func:`run_batches` keeps the caller's side single-threaded: the caller prepares each batch (the
tokenizer is not thread-safe), the workers run only ``forward``, and results come back in plan
order in the calling thread, at most ``2 × workers`` batches ahead. When the caller stops early
(an exception in a batch, an interrupt, a consumer that breaks off) the queued batches are
cancelled, and a model call already running under :func:`abandon_on_stop` raises :class:`Stopped`
at its next submodule (a call that is no torch module registers its own way to stop with
:func:`on_stop`), so an interrupt does not wait for whole batches to finish.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, TypeVar

B = TypeVar("B")
R = TypeVar("R")

_worker = threading.local()  # .stop: the _StopSignal of the run this worker thread serves


class Stopped(Exception):
    """Raised inside a model call whose run was abandoned (its result would be thrown away)."""


class _StopSignal:
    """Set once by the caller when it abandons a run; then calls what running model calls registered."""

    def __init__(self):
        self._lock = threading.Lock()
        self._set = False
        self._callbacks: dict[int, Callable[[], None]] = {}

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        with self._lock:
            self._set = True
            callbacks = list(self._callbacks.values())
        for callback in callbacks:
            callback()

    def register(self, key: int, callback: Callable[[], None]) -> None:
        with self._lock:
            self._callbacks[key] = callback
            now = self._set
        if now:
            callback()

    def unregister(self, key: int) -> None:
        with self._lock:
            self._callbacks.pop(key, None)


def stop_requested() -> bool:
    """True in a worker thread whose run the caller has abandoned; False anywhere else."""
    stop = getattr(_worker, "stop", None)
    return stop is not None and stop.is_set()


@contextmanager
def on_stop(callback: Callable[[], None]):
    """Within the block, ``callback()`` runs (in the caller's thread) as soon as the run this worker
    serves is abandoned, or at once if it already was; outside a worker thread it never runs."""
    stop = getattr(_worker, "stop", None)
    key = id(callback)
    if stop is not None:
        stop.register(key, callback)
    try:
        yield
    finally:
        if stop is not None:
            stop.unregister(key)


@contextmanager
def abandon_on_stop(model):
    """Within the block, every submodule call of ``model`` in an abandoned worker raises
    :class:`Stopped` (a forward pre-hook; calls from other threads are untouched). A model that is
    no ``torch.nn.Module`` gets no hooks: its running calls finish."""

    def check(module, args):
        if stop_requested():
            raise Stopped("embedding abandoned")

    modules = model.modules() if callable(getattr(model, "modules", None)) else []
    handles = [m.register_forward_pre_hook(check) for m in modules]
    try:
        yield model
    finally:
        for h in handles:
            h.remove()


def run_batches(batches: Iterable[B], forward: Callable[[B], R], workers: int) -> Iterator[tuple[B, R]]:
    """Yield ``(batch, forward(batch))`` for every batch in the order given.

    ``workers`` > 1 runs ``forward`` on that many threads, torch at one intra-op thread for the
    duration (its count is put back after); ``workers`` == 1 runs it inline, torch as it is.
    An exception raised by ``forward`` reaches the caller at that batch's turn.

    >>> list(run_batches([1, 2, 3], lambda b: b * 10, workers=2))
    [(1, 10), (2, 20), (3, 30)]
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1:
        for batch in batches:
            yield batch, forward(batch)
        return
    yield from _threaded(iter(batches), forward, workers)


def _threaded(batches: Iterator[B], forward: Callable[[B], R], workers: int) -> Iterator[tuple[B, R]]:
    from banditsim.envs.cpu_threads import torch_threads

    stop = _StopSignal()

    def call(batch):
        _worker.stop = stop
        return forward(batch)

    pool = ThreadPoolExecutor(workers, thread_name_prefix="embed-worker")
    pending: deque = deque()
    try:
        with torch_threads(1):
            for batch in batches:
                pending.append((batch, pool.submit(call, batch)))
                if len(pending) >= 2 * workers:
                    batch, fut = pending.popleft()
                    yield batch, fut.result()
            while pending:
                batch, fut = pending.popleft()
                yield batch, fut.result()
    finally:
        stop.set()  # reached with batches pending only when the caller stopped early
        for _, fut in pending:
            fut.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
