"""Population-wide taste trends: the exogenous part of drift (``Drift(trend_rate=…, trend_period=…)``).

Every step each active user's taste is pulled toward one shared *trend item*:
θ ← normalise(θ + trend_rate·x_τ), the same move a positive answer to item τ makes with the
endogenous drift (and, with ``basis="tastes"``, toward τ's part in the tastes' span). Every
``trend_period`` steps the trend jumps to another item, drawn uniformly from the rest of the
catalog. Tastes then move away from what an agent learned, whatever the agent shows: the world
in which forgetting (discounted, sliding-window) agents can pay off.

The trend items come from a stream of their own, seeded from the world's seed and a fixed tag,
never from the world's per-step stream: a world with the trend on draws its answers exactly as
the same world with the trend off, and the same seed gives the same trend path whatever the
agent does (common random numbers). People who arrive (churn) start from their population taste
and are pulled from their first step on; refused rows (``active`` False) are not pulled.
"""

from __future__ import annotations

import operator

import numpy as np

from banditsim._blas_threads import one_blas_thread
from banditsim.envs.world_errors import WorldConfigError

_TAG = 0x7472656E64  # "trend": separates the trend stream from the world's own


def trend_stream(seed) -> np.random.Generator:
    """The trend items' generator for world seed ``seed`` (an int, or None for fresh entropy).

    >>> int(trend_stream(3).integers(10**6)) == int(trend_stream(3).integers(10**6))
    True
    """
    if seed is None:
        return np.random.default_rng()
    try:
        s = operator.index(seed)
    except TypeError:
        raise WorldConfigError(f"a world with a taste trend needs an integer seed or None, got {type(seed).__name__}") from None
    if s < 0:
        raise WorldConfigError(f"seed must be ≥ 0, got {s}")
    return np.random.default_rng([s, _TAG])


class TasteTrend:
    """The trend's state: rate, period, its random stream and the current trend item.

    >>> tr = TasteTrend(0.1, 3, seed=0)
    >>> tr.start(5)
    >>> items = [tr.item_at(t, 5) for t in range(7)]
    >>> items[0] == items[1] == items[2] != items[3] == items[4] == items[5] != items[6]
    True
    """

    def __init__(self, rate: float, period: int, seed):
        self.rate, self.period = float(rate), int(period)
        self._rng = trend_stream(seed)
        self.item = -1
        self._dots = self._src = None

    def reseed(self, seed) -> None:
        """Restart the stream (``World.reset(seed)``)."""
        self._rng = trend_stream(seed)

    def start(self, n_items: int) -> None:
        """Draw the first trend item of an episode."""
        self.item = int(self._rng.integers(n_items))
        self._dots = None

    def item_at(self, t: int, n_items: int) -> int:
        """The trend item of step ``t`` (0-based); jumps to another item when ``t`` starts a period."""
        if t > 0 and t % self.period == 0 and n_items > 1:
            self.item = int((self.item + 1 + self._rng.integers(n_items - 1)) % n_items)
            self._dots = None
        return self.item

    def dots(self, xg: np.ndarray, be):
        """rate·x_i·x_τ for every item i (backend (n_items,) float32), as the drift's Gram cache
        holds rate·x_j·x_c: recomputed when the trend item or the items (``xg``) change."""
        if self._dots is None or self._src is not xg:
            with one_blas_thread():
                d = xg @ xg[self.item]
            d *= np.float32(self.rate)
            self._dots, self._src = be.asarray(d, "float32"), xg
        return self._dots
