"""torch's CPU thread count for the next batch, chosen from how fast the last batches ran.

On an idle machine a transformer runs fastest with one thread per core (all-MiniLM-L6-v2 on
2 cores: 1.8x one thread). Beside other busy processes the same threads wait at every
operator's barrier for whichever is descheduled, and one thread is 2-3x faster than two. Which
case holds can change while a long embedding runs, so :class:`ThreadTuner` measures instead of
guessing: it warms up with the most threads, measures them, tries the next count down once,
keeps the faster, and tries a neighbouring count again after ``recheck`` seconds. A re-check that
finds the current count still best doubles the wait before the next (up to ``longest``), since on a
busy machine a probe with more threads is the slow one (2-4x a normal batch); a switch resets it.
The thread count does not change the vectors (tested bit for bit), only the time they take.
"""

from __future__ import annotations

import time

RECHECK_SECONDS = 10.0
LONGEST_WAIT_SECONDS = 60.0


def halvings(most: int) -> list[int]:
    """Thread counts to choose from: ``most``, halved down to 1.

    >>> halvings(8), halvings(2), halvings(1), halvings(6)
    ([8, 4, 2, 1], [2, 1], [1], [6, 3, 1])
    """
    if most < 1:
        raise ValueError(f"most must be >= 1, got {most}")
    counts = [most]
    while counts[-1] > 1:
        counts.append(counts[-1] // 2)
    return counts


class ThreadTuner:
    """Hill-climbs the thread count along :func:`halvings` on measured work per second.

    Call :meth:`next` for the count to run a batch with, then :meth:`record` with that count, the
    batch's work (padded tokens) and its seconds.

    >>> t = ThreadTuner(2, clock=lambda: 0.0)
    >>> t.next(); t.record(2, 100, 1.0)    # warm-up: not counted
    2
    >>> t.next(); t.record(2, 100, 1.0)    # 100 tokens/s with 2 threads
    2
    >>> t.next(); t.record(1, 100, 0.5)    # the probe: 200 tokens/s with 1 (a busy machine)
    1
    >>> t.next()
    1
    """

    def __init__(self, most: int, recheck: float = RECHECK_SECONDS, longest: float = LONGEST_WAIT_SECONDS,
                 warmup: int = 1, clock=time.monotonic):
        self.counts = halvings(most)
        self.recheck, self.longest, self.clock = recheck, max(recheck, longest), clock
        self.wait = recheck  # seconds from the last probe to the next
        self.warmup = warmup
        self.current = 0  # index into counts
        self.rate: dict[int, float] = {}  # index -> work/s: smoothed for the current count, the last probe otherwise
        self.last_probe = clock()
        self.upward = False  # alternates the direction of re-checks where both neighbours exist

    @property
    def threads(self) -> int:
        """The count in use (outside probes)."""
        return self.counts[self.current]

    def _neighbour(self) -> int | None:
        down = self.current + 1 if self.current + 1 < len(self.counts) else None
        up = self.current - 1 if self.current > 0 else None
        if down is not None and down not in self.rate:
            return down
        if up is not None and up not in self.rate:
            return up
        if down is not None and up is not None:
            self.upward = not self.upward
            return up if self.upward else down
        return down if down is not None else up

    def next(self) -> int:
        """Threads for the next batch."""
        if len(self.counts) == 1 or self.warmup > 0 or self.current not in self.rate:
            return self.threads
        other = self._neighbour()
        if other not in self.rate or self.clock() - self.last_probe >= self.wait:
            return self.counts[other]
        return self.threads

    def record(self, threads: int, work: float, seconds: float) -> None:
        """A batch of ``work`` units ran in ``seconds`` with ``threads`` threads."""
        if self.warmup > 0:
            self.warmup -= 1
            return
        if seconds <= 0 or threads not in self.counts:
            return
        i, rate = self.counts.index(threads), work / seconds
        if i == self.current:
            old = self.rate.get(i)
            self.rate[i] = rate if old is None else 0.5 * (old + rate)
            return
        self.rate[i] = rate
        self.last_probe = self.clock()
        if rate > self.rate.get(self.current, 0.0):
            self.current, self.wait = i, self.recheck
        else:
            self.wait = min(2 * self.wait, self.longest)
