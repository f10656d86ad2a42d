"""Position-aware cascade choice for slates.

The user scans the slate top-down. Position p is examined with probability ``e_p`` (given
the scan reached it); an examined item draws an ordinal response (:mod:`banditsim.envs.feedback`).
The first examined item with a non-neutral response gets that response and the scan
stops; if none, the slate's response is ``neutral`` at position −1. Hence at most one
item per slate is positive, and higher positions are more likely to be answered.

Exact value of a slate: with ``h_p = 1 − P(neutral)`` and ``R_p = Σ_{k≠neutral} P_k r_k``,
``V = Σ_p reach_p·e_p·R_p + reach_k·r_neutral``, ``reach_{p+1} = reach_p·(1 − e_p·h_p)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from banditsim.envs.feedback_kinds import NEUTRAL
from banditsim.envs.parameters import Param, check_parameters
from banditsim.envs.world_errors import WorldConfigError


@dataclass(frozen=True)
class CascadeChoice:
    """Examination probabilities: ``examination`` per position, or ``decay**p`` beyond it.

    >>> CascadeChoice(decay=0.5).examination_probs(3).tolist()
    [1.0, 0.5, 0.25]
    """

    decay: float = 0.8
    examination: tuple[float, ...] | None = None

    # examination is a per-position table for code that builds worlds; configs set decay only
    parameters: ClassVar[dict[str, Param]] = {
        "decay": Param("attention kept per slate position (slates)", gt=0, le=1),
    }

    def __post_init__(self):
        check_parameters(self, "cascade")
        if self.examination is not None:
            e = np.asarray(self.examination, dtype=float)
            if e.ndim != 1 or len(e) == 0 or not ((e > 0) & (e <= 1)).all():
                raise WorldConfigError("cascade examination probabilities must be in (0, 1]")

    def examination_probs(self, k: int) -> np.ndarray:
        if self.examination is not None:
            e = np.asarray(self.examination, dtype=np.float64)
            if k <= len(e):
                return e[:k]
            return np.r_[e, e[-1] * self.decay ** np.arange(1, k - len(e) + 1)]
        return self.decay ** np.arange(k, dtype=np.float64)


def slate_value(probs, exam, rewards):
    """Exact expected reward of slates from kind probabilities (B, k, N_KINDS), exam (k,), rewards (N_KINDS,).

    >>> p = np.zeros((1, 2, 8)); p[0, 0, 6] = 0.5; p[0, 0, 3] = 0.5; p[0, 1, 6] = 1.0
    >>> r = np.array([-1, -0.5, -0.1, 0, 0.5, 1, 1.0, 1.0])
    >>> slate_value(p, np.array([1.0, 1.0]), r).tolist()  # 0.5·1 + 0.5·1
    [1.0]
    """
    h = 1.0 - probs[..., NEUTRAL]
    resp_val = (probs * rewards).sum(-1) - probs[..., NEUTRAL] * rewards[NEUTRAL]
    reach = 1.0 + 0 * h[:, 0]
    value = 0 * h[:, 0]
    for p in range(probs.shape[1]):
        value = value + reach * exam[p] * resp_val[:, p]
        reach = reach * (1.0 - exam[p] * h[:, p])
    return value + reach * rewards[NEUTRAL]
