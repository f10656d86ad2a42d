"""Progress of long steps: a tqdm bar on a terminal, plain lines everywhere else.

A bar redrawn with carriage returns is useless in a log file or a CI job, and no bar at all
leaves a long step silent (embedding 9,000 titles printed nothing for 9 minutes). When stderr
is not a terminal, :func:`progress_bar` returns a :class:`LineProgress` instead: a background
ticker prints one line at least every ``BANDITSIM_PROGRESS_SECONDS`` seconds (default 10)::

    embedding (all-MiniLM-L6-v2, cpu): 1,280/9,000 texts (14%), 41.3 texts/s, ETA 3m07s

Short steps (finished before the first tick) print nothing. ``BANDITSIM_PROGRESS=off`` silences
the lines (``banditsim run --quiet`` is meant to set it).
"""

from __future__ import annotations

import os
import sys
import threading
import time

ENV_SECONDS = "BANDITSIM_PROGRESS_SECONDS"
ENV_SWITCH = "BANDITSIM_PROGRESS"
DEFAULT_SECONDS = 10.0


def line_interval() -> float:
    """Seconds between progress lines (``BANDITSIM_PROGRESS_SECONDS``, default 10, at least 0.01)."""
    raw = os.environ.get(ENV_SECONDS, "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_SECONDS
    except ValueError:
        value = DEFAULT_SECONDS
    return value if value == value and value >= 0.01 else DEFAULT_SECONDS


def _duration(seconds: float) -> str:
    """``3m07s`` style.

    >>> _duration(187), _duration(4), _duration(3725)
    ('3m07s', '4s', '1h02m05s')
    """
    s = int(round(seconds))
    h, m, s = s // 3600, s // 60 % 60, s % 60
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def progress_line(desc: str, done: int, total: int | None, elapsed: float, unit: str) -> str:
    """One progress line: done/total, percentage, rate and ETA.

    >>> progress_line("embedding", 250, 1000, 10.0, "texts")
    'embedding: 250/1,000 texts (25%), 25.0 texts/s, ETA 30s, 10s elapsed'
    >>> progress_line("cells", 0, 8, 12.0, "cells")
    'cells: 0/8 cells (0%), 0.0 cells/s, ETA unknown, 12s elapsed'
    """
    rate = done / elapsed if elapsed > 0 else 0.0
    if total:
        eta = _duration((total - done) / rate) if rate > 0 else "unknown"
        head = f"{done:,}/{total:,} {unit} ({100 * done / total:.0f}%)"
        tail = f", ETA {eta}"
    else:
        head, tail = f"{done:,} {unit}", ""
    return f"{desc}: {head}, {rate:,.1f} {unit}/s{tail}, {_duration(elapsed)} elapsed"


class LineProgress:
    """A tqdm-like counter (``update``, ``close``, context manager) that prints plain lines.

    A daemon thread prints :func:`progress_line` every ``interval`` seconds, so a line appears
    even while one slow batch runs; ``close`` stops it (no final line for a step that took less
    than one interval, one closing line otherwise).
    """

    def __init__(self, total: int | None, desc: str, unit: str = "it", interval: float | None = None,
                 stream=None):
        self.total, self.desc, self.unit = total, desc, unit
        self.n = 0
        self.interval = line_interval() if interval is None else interval
        self.stream = stream
        self.start = time.monotonic()
        self.lines = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name=f"progress:{desc}", daemon=True)
        self._thread.start()

    def _emit(self) -> None:
        with self._lock:
            line = progress_line(self.desc, self.n, self.total, time.monotonic() - self.start, self.unit)
            self.lines += 1
        stream = self.stream or sys.stderr
        try:
            print(line, file=stream, flush=True)
        except (OSError, ValueError):  # a closed or broken stream must not break the step
            self._stop.set()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self._emit()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done."""
        with self._lock:
            self.n += n

    def close(self) -> None:
        """Stop the ticker; print a closing line if any line was printed before."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=1.0)
        if self.lines:
            self._emit()

    def __enter__(self) -> "LineProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Silent:
    """The counter when progress is off."""

    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        pass

    def __enter__(self) -> "_Silent":
        return self

    def __exit__(self, *exc) -> None:
        pass


def lines_enabled() -> bool:
    """True when stderr is not a terminal and ``BANDITSIM_PROGRESS`` is not ``off``."""
    if os.environ.get(ENV_SWITCH, "").strip().lower() in ("off", "0", "no", "false"):
        return False
    try:
        return not sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress_bar(total: int | None, desc: str, unit: str = "it", progress: bool = True, leave: bool = True):
    """A counter for a long step: tqdm on a terminal (when ``progress``), plain lines off one.

    Off a terminal the lines are printed whatever ``progress`` says (callers pass
    ``progress=sys.stderr.isatty()``), unless ``BANDITSIM_PROGRESS=off``.
    """
    if lines_enabled():
        return LineProgress(total, desc, unit)
    if progress:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, leave=leave)
    return _Silent()
