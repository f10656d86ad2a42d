"""One BLAS thread inside the linear agents' hot calls (issue #18 goal 5).

A user's own loop runs with the library's default thread count (two OpenBLAS threads here); the
agents' products are small (one row against a few hundred columns), so waking worker threads
costs more than it gains, and on a busy machine far more (lin_ts shared, d=384, 1,682 items:
1.9–8.6 decisions/s on two threads, 57–62 on one).  The limit is set around the call only and
the previous setting restored after it.  When torch is loaded its intra-op thread pool is
limited the same way (neural_linear_ts on the CPU: 480 ms a step on torch's two threads at load
6.8, 33 ms on one).  ``envs.blas_threads`` does the same for the world; ``agents`` and ``envs`` may
not import each other, so this is its twin.
"""

from __future__ import annotations

import sys


class _OneThread:
    """Reusable, re-entrant context manager: BLAS libraries loaded so far (and torch's intra-op
    pool, if torch is loaded) run on one thread inside it."""

    def __init__(self):
        self._libs = None
        self._saved: list = []

    def _find(self):
        try:
            from threadpoolctl import ThreadpoolController

            self._libs = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        except (ImportError, OSError, RuntimeError):  # threadpoolctl missing or unable to inspect
            self._libs = []

    def __enter__(self):
        if self._libs is None:
            self._find()
        saved = []
        for lib in self._libs:
            n = lib.get_num_threads()
            if n is not None and n > 1:
                lib.set_num_threads(1)
                saved.append((lib, n))
        torch = sys.modules.get("torch")  # never imported here: only a torch already in use is limited
        if torch is not None and torch.get_num_threads() > 1:
            saved.append((torch, torch.get_num_threads()))
            torch.set_num_threads(1)
        self._saved.append(saved)
        return self

    def __exit__(self, *exc):
        for lib, n in self._saved.pop():
            lib.set_num_threads(n)
        return False


_ONE = _OneThread()


def one_blas_thread() -> _OneThread:
    """Context manager limiting the BLAS libraries to one thread (a no-op without threadpoolctl).

    >>> import numpy as np
    >>> with one_blas_thread():
    ...     float((np.ones((2, 3)) @ np.ones(3))[0])
    3.0
    """
    return _ONE
