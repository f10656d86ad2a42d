"""Where cells run: in this process, in local worker processes, or as Ray tasks.

Every backend calls the same pure function ``fn(shared, cell)`` whose result
depends only on its arguments (seeds come from the cell), so all backends give
bit-identical results; they differ only in where the work happens.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from banditsim.sim.run.ray_reaper import RayReaper

BACKENDS = ("local", "ray")

_SHARED: Any = None


def _exit_with_parent(parent: int, interval: float = 0.2) -> None:
    """End this worker as soon as the process that started it is gone (e.g. SIGKILLed).

    A killed sweep must not leave workers behind: each holds the task queue open, so
    without this they would wait for work forever.
    """
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="banditsim-parent-watch", daemon=True).start()


def _init_worker(shared: Any, parent: int | None = None) -> None:
    """One compute thread per worker (the workers already fill the cores): BLAS and torch.

    torch is not imported here (a second of start-up per worker): if a cell needs it, it
    reads OMP_NUM_THREADS when it is first imported. The worker exits when ``parent`` dies.
    """
    global _SHARED
    _SHARED = shared
    from banditsim.sim.interrupts import ignore_in_worker

    ignore_in_worker()  # the parent cancels and ends workers on Ctrl-C / SIGTERM
    if parent is not None:
        _exit_with_parent(parent)
    os.environ["OMP_NUM_THREADS"] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def call_cell(fn: Callable, shared: Any, cell: Any):
    """``(cell, fn(shared, cell))`` with BLAS on one thread, on every backend alike.

    Some BLAS products round differently with another thread count, so running every cell
    single-threaded keeps in-process, worker-process and Ray results bit-identical.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return cell, fn(shared, cell)


def _call_in_worker(fn: Callable, cell: Any):
    return call_cell(fn, _SHARED, cell)


def run_local(fn: Callable, shared: Any, cells: Iterable, workers: int = 1) -> Iterator[tuple[Any, Any]]:
    """Yield ``(cell, fn(shared, cell))`` as cells finish; ``workers`` > 1 uses processes."""
    cells = list(cells)
    if workers <= 1 or len(cells) <= 1:
        for cell in cells:
            yield call_cell(fn, shared, cell)
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # fork after torch/BLAS threads start can deadlock
    pool = ProcessPoolExecutor(max_workers=min(workers, len(cells)), mp_context=ctx,
                               initializer=_init_worker, initargs=(shared, os.getpid()))
    finished = False
    try:
        pending = {pool.submit(_call_in_worker, fn, c) for c in cells}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:
            _abandon(pool)


def _abandon(pool: ProcessPoolExecutor) -> None:
    """Cancel queued cells and end the workers now (an interrupt or an error stopped the sweep).

    ``shutdown(wait=True)`` would let every queued cell run first: a sweep interrupted
    with Ctrl-C would keep computing for minutes. Finished cells are already on disk.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for proc in processes:
        try:
            proc.kill()
        except (OSError, ValueError):  # already gone
            pass
    for proc in processes:
        proc.join(timeout=1.0)
    # the workers are gone, so this returns at once; it also releases the pool's queues and
    # semaphores (left to the interpreter's exit they are reported as leaked)
    pool.shutdown(wait=True, cancel_futures=True)


def run_ray(fn: Callable, shared: Any, cells: Iterable, address: str | None = None,
            workers: int | None = None) -> Iterator[tuple[Any, Any]]:
    """Yield ``(cell, result)`` from Ray tasks (``ray.init()`` locally, or ``address`` of a cluster)."""
    try:
        import ray
    except ImportError:
        from banditsim.envs.errors import BanditsimError

        raise BanditsimError("the ray backend needs Ray: pip install 'banditsim[ray]'") from None
    started, reaper = False, None
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
        if address:
            kwargs["address"] = address
        else:
            reaper = RayReaper.start()
            if workers:
                kwargs["num_cpus"] = workers
        try:
            ray.init(**kwargs)
        except BaseException:
            if reaper is not None:
                reaper.close(kill=True)
            raise
        started = True
        if reaper is not None:
            reaper.started()
    try:
        remote = ray.remote(num_cpus=1)(lambda shared_ref, cell: call_cell(fn, shared_ref, cell))
        shared_ref = ray.put(shared)
        pending = [remote.remote(shared_ref, c) for c in cells]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    yield ray.get(ref)
        finally:
            for ref in pending:  # interrupted: queued and running cells are cancelled, not awaited
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - best effort while stopping
                    pass
    finally:
        if started:
            ray.shutdown()
        if reaper is not None:
            reaper.close()
