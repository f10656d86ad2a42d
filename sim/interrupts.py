"""Ctrl-C and SIGTERM: stop promptly, keep what is finished, exit 130 or 143.

:func:`catching_signals` turns SIGINT and SIGTERM into :class:`Interrupted`, a ``BaseException``
that no ``except Exception`` (and not click, which swallows ``KeyboardInterrupt``) can hide. Code
on the way out (cancelling queued cells, releasing the results folder) runs in ``finally`` blocks;
a second signal while it runs ends the process at once.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The command was interrupted by ``signum``; its exit status is ``128 + signum``."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """130 for SIGINT, 143 for SIGTERM (the shell's convention)."""
        return 128 + self.signum


@contextmanager
def catching_signals() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM raise :class:`Interrupted` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum, frame):
        if fired:  # a second signal while cleaning up: stop now
            os._exit(128 + signum)
        fired.append(signum)
        raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in HANDLED}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def ignore_in_worker() -> None:
    """Worker processes leave SIGINT/SIGTERM to their parent, which cancels and ends them.

    Ctrl-C reaches every process of the terminal's group; a worker that died of it on its own
    would turn a clean interrupt into a broken-pool error in the parent.
    """
    for s in HANDLED:
        signal.signal(s, signal.SIG_IGN)
