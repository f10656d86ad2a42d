"""LinUCB (Li et al. 2010): optimistic ridge regression, disjoint or shared."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from banditsim.agents._linear.model import LinearModelMixin
from banditsim.agents._validation import check_float
from banditsim.agents.base import IndexAgent


class LinUCBAgent(LinearModelMixin, IndexAgent):
    """Ranks items by x·μ + alpha·sqrt(xᵀΣx) under a ridge-regression posterior.

    ``mode='disjoint'``: one model per arm on the user features [x, 1] (the LinUCB paper's
    disjoint model).  ``mode='shared'``: one model on [x, 1] ⊗ [z_item, 1] (needs
    ``Context.arm_features``, reduced to their top ``arm_dim`` principal components), which
    scores items never shown (cold start).  Σ = (ridge·I +
    XᵀX)⁻¹, μ = Σ Xᵀr.  Deterministic apart from tie-breaking: propensities are exact.
    ``backend='torch'`` with ``device`` ('cpu', 'cuda', ...) keeps the posterior math in
    torch (``banditsim.agents._backend``), with the same decisions.

    Examples
    --------
    >>> from banditsim.agents import Context, Feedback
    >>> agent = LinUCBAgent(n_arms=2, alpha=0.5, random_state=0)
    >>> ctx = Context(features=np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> agent.update(ctx, np.array([0, 1]), Feedback(reward=[1.0, -1.0]))
    >>> agent.act(Context(features=np.array([[1.0, 0.0]]))).actions.tolist()
    [0]
    """

    name = "linucb"
    test_params: ClassVar[dict[str, Any]] = {"alpha": 1.0}

    def __init__(self, n_arms, *, alpha: float = 1.0, mode: str = "disjoint", ridge: float = 1.0,
                 fit_intercept: bool = True, arm_dim: int | None = 16,
                 backend: str = "numpy", device: str | None = None, **kwargs):
        super().__init__(n_arms, **kwargs)
        self.alpha = check_float("alpha", alpha, 0.0)
        self._init_linear(mode, ridge, fit_intercept, arm_dim, backend, device)

    def _index(self, rows):
        return self._index_parts(rows)[2]

    def _index_parts(self, rows):
        """(xᵀθ̂, α·width, their sum): the ridge estimate and the optimism bonus."""
        mean, quad = self._mean_and_quad(rows)
        bonus = self.alpha * np.sqrt(quad)
        return mean, bonus, mean + bonus

    def _learn(self, rows, arms, reward, kind):
        self._fit_rows(rows, arms, np.ones_like(reward), reward)
