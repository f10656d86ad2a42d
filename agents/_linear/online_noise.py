"""LinTS's noise scale, estimated online from the residuals of its ridge fit.

For a replica with n answers y and design rows φ, the ridge fit (precision A = λI + ΦᵀΦ, b = Φᵀy,
μ = A⁻¹b) leaves the residual sum of squares
    RSS = ‖y − Φμ‖² = Σy² − 2bᵀμ + μᵀ(A − λI)μ = Σy² − bᵀμ − λ‖μ‖²,
read from the posterior's b and μ (every linear posterior has both; summed over the arms in the
disjoint mode).  The estimate is that of a scaled-inverse-χ² prior with ``PRIOR_N`` pseudo-observations
at ``PRIOR_STD`` (the former fixed default):
    σ̂² = (PRIOR_N·PRIOR_STD² + RSS) / (PRIOR_N + n),
so it starts at 0.5 and follows the data (≈ the true noise after a few dozen answers).  It is
recomputed only after an update (cached per call).
"""

from __future__ import annotations

import numpy as np

PRIOR_N = 5.0
PRIOR_STD = 0.5
_FLOOR = 1e-3 * PRIOR_STD  # a perfect fit never makes the posterior collapse to a point


class OnlineNoise:
    """Σy² and n per replica, and the noise scale they give with a posterior's b and μ.

    >>> noise = OnlineNoise(1)
    >>> float(noise.scale(None, 1.0)[0])  # nothing seen: the prior
    0.5
    """

    def __init__(self, n_replicas: int) -> None:
        self.yy = np.zeros(n_replicas)
        self.n = np.zeros(n_replicas)
        self._cached: np.ndarray | None = None

    def observe(self, replica: np.ndarray, reward: np.ndarray) -> None:
        """Count the answers ``reward`` of rows ``replica``."""
        np.add.at(self.yy, replica, reward * reward)
        np.add.at(self.n, replica, 1.0)
        self._cached = None

    def scale(self, posterior, ridge: float) -> np.ndarray:
        """σ̂ (n_replicas,) given ``posterior`` (with ``b`` and ``mean`` of shape (R, ..., d)) or None,
        fitted with penalty ``ridge``."""
        if self._cached is None:
            rss = np.zeros_like(self.yy)
            if posterior is not None:
                b, mean = np.asarray(posterior.b), np.asarray(posterior.mean)
                fitted = ((b + ridge * mean) * mean).reshape(b.shape[0], -1).sum(axis=1)
                rss = np.maximum(self.yy - fitted, 0.0)
            var = (PRIOR_N * PRIOR_STD**2 + rss) / (PRIOR_N + self.n)
            self._cached = np.maximum(np.sqrt(var), _FLOOR)
        return self._cached
