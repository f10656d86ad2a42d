"""Single-item Thompson decisions of the linear agents (LinTS, logistic TS), both modes.

* disjoint: scores are independent Gaussians per arm, the propensity is the quadrature of
  ``GaussianWinProbability`` (same random stream and decisions as ``SamplingAgent``);
* shared: the decision draw and the ``n_propensity_draws`` Monte-Carlo draws are made in
  one pass: u_b = mean_b + scale·F_b ε (F_b the Cholesky factor of S_b), item scores
  u_b·z̃ in one float32 GEMM per chunk of draws, masked argmax in place; the (B, n_arms)
  Monte-Carlo distribution is built only if ``Decision.probabilities`` is read.
"""

from __future__ import annotations

import numpy as np

from agents._linear_posterior import user_design
from agents._scratch import Scratch
from agents._selection import top_k
from agents._win_probability import GaussianWinProbability
from agents.types import Decision

_CHUNK = 1 << 21  # score elements per chunk of draws


class LinearTSDecideMixin:
    """``_decide`` for the linear Thompson agents; slates and zero variances go to the base class."""

    def _decide(self, rows):
        if self.slate_size == 1:
            if self.mode == "shared":
                return self._decide_shared(rows)
            gauss = self._independent_gaussian(rows)
            if gauss is not None and np.all(gauss[1] > 0):
                mean, std = gauss
                scores = mean + std * self._rng.standard_normal(mean.shape)
                items = top_k(scores, rows.mask, 1, self._rng)
                win = self.__dict__.setdefault("_win_probability", GaussianWinProbability())
                return items, win(mean, std, items[:, 0], rows.mask)[:, None], None
        return super()._decide(rows)

    def _decide_shared(self, rows):
        n_rows, n_arms, n_total = rows.n_rows, self.n_arms, self.n_propensity_draws + 1
        if self._backend == "torch":
            winners = _torch_winners(self, rows, n_total)
        else:
            winners = _numpy_winners(self, rows, n_total)
        chosen = winners[0]
        hits = (winners[1:] == chosen).sum(axis=0)
        propensities = (1.0 + hits) / n_total

        def probabilities():
            idx = winners + (np.arange(n_rows) * n_arms)
            return np.bincount(idx.ravel(), minlength=n_rows * n_arms).reshape(n_rows, n_arms) / n_total

        lazy = isinstance(vars(Decision).get("probabilities"), property)  # Decision builds it on first read
        return chosen[:, None], propensities[:, None], probabilities if lazy else probabilities()


def _numpy_winners(agent, rows, n_total: int) -> np.ndarray:
    """(n_total, B) masked argmax items of n_total independent draws; draw 0 with random tie-breaks."""
    items, mean_u, packed, inverse = agent._shared_packed(rows)
    cov_u = agent.posterior.layout(items.shape[1]).unpack(packed)
    jitter = 1e-12 * np.trace(cov_u, axis1=1, axis2=2)[:, None, None] * np.eye(cov_u.shape[1])
    factor = np.linalg.cholesky(cov_u + jitter)[inverse]  # one factor per distinct row
    scale, rng = agent._score_scale(), agent._rng
    items32 = items.T.astype(np.float32)
    if np.isnan(items32).any():
        raise FloatingPointError("agent produced NaN scores")
    n_rows, n_arms = rows.n_rows, agent.n_arms
    blocked = None if rows.mask is None else np.flatnonzero(~rows.mask)  # usually few
    winners = np.empty((n_total, n_rows), dtype=np.intp)
    chunk = max(1, _CHUNK // max(1, n_rows * n_arms))
    for lo in range(0, n_total, chunk):  # draws, in chunks (the first one decides)
        n = min(chunk, n_total - lo)
        eps = rng.standard_normal((n, *mean_u.shape))
        u = mean_u + scale * np.einsum("bjl,nbl->nbj", factor, eps)
        if np.isnan(u).any():
            raise FloatingPointError("agent produced NaN scores")
        scores = np.matmul(u.astype(np.float32), items32, out=_buffer_for(agent, (n, n_rows, n_arms)))
        if blocked is not None:
            scores.reshape(n, -1)[:, blocked] = -np.inf
        winners[lo:lo + n] = scores.argmax(axis=2)
        if lo == 0:
            winners[0] = _break_ties(scores[0], winners[0], rows.mask, rng)
    return winners


def _torch_winners(agent, rows, n_total: int) -> np.ndarray:
    """``_numpy_winners`` with the posterior, the draws' scores and the argmax on the torch device
    (the standard normals still come from the agent's numpy Generator: the same draws)."""
    import torch

    items = agent._items(rows)
    x = user_design(rows, agent.fit_intercept)
    post = agent._posterior_for(x.shape[1] * items.shape[1])
    mean_u, packed, inverse = post.project_packed(rows.replica, x, items.shape[1], as_tensor=True)
    cov_u = post.unpack(packed)
    eye = torch.eye(cov_u.shape[1], dtype=cov_u.dtype, device=cov_u.device)
    jitter = 1e-12 * torch.diagonal(cov_u, dim1=1, dim2=2).sum(dim=1)[:, None, None] * eye
    factor = torch.linalg.cholesky(cov_u + jitter)[inverse]
    scale, rng = agent._score_scale(), agent._rng
    items32 = torch.as_tensor(items.T, dtype=torch.float32, device=cov_u.device)
    n_rows, n_arms = rows.n_rows, agent.n_arms
    blocked = None if rows.mask is None else torch.as_tensor(np.flatnonzero(~rows.mask), device=cov_u.device)
    winners = np.empty((n_total, n_rows), dtype=np.intp)
    chunk = max(1, _CHUNK // max(1, n_rows * n_arms))
    for lo in range(0, n_total, chunk):
        n = min(chunk, n_total - lo)
        eps = torch.as_tensor(rng.standard_normal((n, n_rows, mean_u.shape[1])), device=cov_u.device)
        u = mean_u + scale * torch.einsum("bjl,nbl->nbj", factor, eps)
        if torch.isnan(u).any() or torch.isnan(items32).any():
            raise FloatingPointError("agent produced NaN scores")
        scores = torch.matmul(u.float(), items32)
        if blocked is not None:
            scores.view(n, -1)[:, blocked] = -torch.inf
        best = scores.argmax(dim=2)
        if lo == 0:  # ties at the maximum of the deciding draw: resolved on the host
            top = scores[0].gather(1, best[0][:, None])
            tied = torch.nonzero((scores[0] == top).sum(dim=1) > 1)[:, 0].cpu().numpy()
            if tied.size:
                sub = scores[0][torch.as_tensor(tied, device=cov_u.device)].double().cpu().numpy()
                best[0, torch.as_tensor(tied, device=cov_u.device)] = torch.as_tensor(
                    top_k(sub, None if rows.mask is None else rows.mask[tied], 1, rng)[:, 0], device=cov_u.device)
        winners[lo:lo + n] = best.cpu().numpy()
    return winners


def _buffer_for(owner, shape: tuple[int, ...]) -> np.ndarray:
    """A float32 score array kept on ``owner`` (``Scratch``: reused, never pickled)."""
    return owner.__dict__.setdefault("_decide_scratch", Scratch()).buffer("scores", shape, np.float32)


def _break_ties(scores: np.ndarray, best: np.ndarray, mask, rng) -> np.ndarray:
    """Rows whose maximum is tied get a uniformly random tied item (``top_k``); others keep ``best``.

    A tie means the runner-up equals the maximum: one max pass with the argmax set aside."""
    row = np.arange(best.size)
    top = scores[row, best]
    scores[row, best] = -np.inf
    tied = np.flatnonzero(scores.max(axis=1) == top)
    scores[row, best] = top
    if tied.size:
        best = best.copy()
        best[tied] = top_k(scores[tied].astype(np.float64), None if mask is None else mask[tied], 1, rng)[:, 0]
    return best
