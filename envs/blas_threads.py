"""Single-threaded BLAS for the world's small products.

A product of a few taste rows with the item matrix is far too small to gain from BLAS worker
threads, and on a busy machine waking them costs milliseconds (measured on the 2-core test
machine at load 4: 18 rows × 384 × 1,682 took 15.6 ms on 2 threads, 1.1 ms on 1). The limit
is set around the call only and the previous setting restored after it. The BLAS libraries
are found once (threadpoolctl); entering and leaving costs two library calls each, not the
~0.1 ms of a ``threadpool_limits`` block on a busy machine.
"""

from __future__ import annotations


class _OneThread:
    """Reusable context manager: BLAS libraries loaded so far run on one thread inside it."""

    def __init__(self):
        self._libs = None
        self._saved = []

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
        self._saved.append(saved)
        return self

    def __exit__(self, *exc):
        for lib, n in self._saved.pop():
            lib.set_num_threads(n)
        return False


_ONE = _OneThread()


def one_blas_thread() -> _OneThread:
    """Context manager limiting the BLAS libraries to one thread (a no-op without threadpoolctl).

    Examples
    --------
    >>> import numpy as np
    >>> with one_blas_thread():
    ...     float((np.ones((2, 3)) @ np.ones(3))[0])
    3.0
    """
    return _ONE
