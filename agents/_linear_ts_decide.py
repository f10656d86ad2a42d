"""Single-item Thompson decisions of the linear agents (LinTS, logistic TS), both modes.

* disjoint: scores are independent Gaussians per arm, the propensity is the quadrature of
  ``GaussianWinProbability`` (same random stream and decisions as ``SamplingAgent``);
* shared: u_b = mean_b + scale·F_b ε (F_b the Cholesky factor of S_b), item scores u_b·z̃ in
  one float32 GEMM per chunk of draws, masked argmax in place. The deciding draw is made at
  once; the ``n_propensity_draws`` Monte-Carlo draws come from the posterior frozen at act time
  and a child random stream (``SamplingAgent._propensity_rng``) the first time
  ``Decision.propensities`` or ``probabilities`` is read, so unlogged steps skip them and
  reading them never changes the actions.
"""

from __future__ import annotations

import numpy as np

from banditsim.agents._blas_threads import one_blas_thread
from banditsim.agents._linear_agent import row_scale
from banditsim.agents._linear_posterior import user_design
from banditsim.agents.base import split_at
from banditsim.agents._state.scratch import Scratch
from banditsim.agents._selection.ranking import top_k
from banditsim.agents._propensity.gaussian_win import GaussianWinProbability

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
                if self.explain:  # the posterior mean of the chosen score and its std
                    self._why = split_at(mean, std, items)
                win = self.__dict__.setdefault("_win_probability", GaussianWinProbability())
                return items, win(mean, std, items[:, 0], rows.mask)[:, None], None
        return super()._decide(rows)

    def _decide_shared(self, rows):
        n_rows, n_arms, n_total = rows.n_rows, self.n_arms, self.n_propensity_draws + 1
        with one_blas_thread():  # small products: BLAS worker threads cost more than they give
            sampler = _torch_sampler(self, rows) if self._backend == "torch" else _numpy_sampler(self, rows)
            chosen = sampler(1, self._rng, True)[0]
        cache: list = []

        def winners():  # (n_total, B): the deciding draw, then the propensity draws (drawn on first read)
            if not cache:
                with one_blas_thread():
                    rest = sampler(n_total - 1, self._propensity_rng(), False)
                cache.append(np.concatenate([chosen[None], rest]))
            return cache[0]

        def propensities():
            hits = (winners()[1:] == chosen).sum(axis=0)
            return ((1.0 + hits) / n_total)[:, None]

        def probabilities():
            idx = winners() + (np.arange(n_rows) * n_arms)
            return np.bincount(idx.ravel(), minlength=n_rows * n_arms).reshape(n_rows, n_arms) / n_total

        return chosen[:, None], propensities, probabilities


def _numpy_sampler(agent, rows):
    """``draw(n, rng, decide) -> (n, B)`` masked argmax items of n independent posterior draws, from
    the posterior as it is now (later updates do not reach it); ``decide``: random tie-breaks and
    the agent's scratch buffer (the deciding draw), else fresh arrays (a propensity read, later)."""
    items, mean_u, packed, inverse = agent._shared_packed(rows)
    cov_u = agent.posterior.layout(items.shape[1]).unpack(packed)
    jitter = 1e-12 * np.trace(cov_u, axis1=1, axis2=2)[:, None, None] * np.eye(cov_u.shape[1])
    factor = np.linalg.cholesky(cov_u + jitter)  # one factor per distinct row
    scale = row_scale(agent, rows.replica)
    items32 = items.T.astype(np.float32)
    if np.isnan(items32).any():
        raise FloatingPointError("agent produced NaN scores")
    n_rows, n_arms, mask = rows.n_rows, agent.n_arms, rows.mask
    blocked = None if mask is None else np.flatnonzero(~mask)  # usually few

    def draw(n_draws: int, rng: np.random.Generator, decide: bool) -> np.ndarray:
        winners = np.empty((n_draws, n_rows), dtype=np.intp)
        chunk = max(1, _CHUNK // max(1, n_rows * n_arms))
        row_factor = factor[inverse] if n_draws else None
        for lo in range(0, n_draws, chunk):
            n = min(chunk, n_draws - lo)
            eps = rng.standard_normal((n, *mean_u.shape))
            u = mean_u + scale * np.einsum("bjl,nbl->nbj", row_factor, eps)
            if np.isnan(u).any():
                raise FloatingPointError("agent produced NaN scores")
            out = _buffer_for(agent, (n, n_rows, n_arms)) if decide else None
            scores = np.matmul(u.astype(np.float32), items32, out=out)
            if blocked is not None:
                scores.reshape(n, -1)[:, blocked] = -np.inf
            winners[lo:lo + n] = scores.argmax(axis=2)
            if decide and lo == 0:
                winners[0] = _break_ties(scores[0], winners[0], mask, rng)
        return winners

    return draw


def _torch_sampler(agent, rows):
    """``_numpy_sampler`` with the posterior, the draws' scores and the argmax on the torch device
    (the standard normals still come from the numpy Generators: the same draws)."""
    import torch

    items = agent._items(rows)
    x = user_design(rows, agent.fit_intercept)
    post = agent._posterior_for(x.shape[1] * items.shape[1])
    mean_u, packed, inverse = post.project_packed(rows.replica, x, items.shape[1], as_tensor=True)
    cov_u = post.unpack(packed)
    eye = torch.eye(cov_u.shape[1], dtype=cov_u.dtype, device=cov_u.device)
    jitter = 1e-12 * torch.diagonal(cov_u, dim1=1, dim2=2).sum(dim=1)[:, None, None] * eye
    factor = torch.linalg.cholesky(cov_u + jitter)
    scale = row_scale(agent, rows.replica)
    scale = scale if np.isscalar(scale) else torch.as_tensor(scale, dtype=cov_u.dtype, device=cov_u.device)
    items32 = torch.as_tensor(items.T, dtype=torch.float32, device=cov_u.device)
    n_rows, n_arms, mask = rows.n_rows, agent.n_arms, rows.mask
    blocked = None if mask is None else torch.as_tensor(np.flatnonzero(~mask), device=cov_u.device)

    def draw(n_draws: int, rng: np.random.Generator, decide: bool) -> np.ndarray:
        winners = np.empty((n_draws, n_rows), dtype=np.intp)
        chunk = max(1, _CHUNK // max(1, n_rows * n_arms))
        row_factor = factor[inverse] if n_draws else None
        for lo in range(0, n_draws, chunk):
            n = min(chunk, n_draws - lo)
            eps = torch.as_tensor(rng.standard_normal((n, n_rows, mean_u.shape[1])), device=cov_u.device)
            u = mean_u + scale * torch.einsum("bjl,nbl->nbj", row_factor, eps)
            if torch.isnan(u).any() or torch.isnan(items32).any():
                raise FloatingPointError("agent produced NaN scores")
            scores = torch.matmul(u.float(), items32)
            if blocked is not None:
                scores.view(n, -1)[:, blocked] = -torch.inf
            best = scores.argmax(dim=2)
            if decide and lo == 0:  # ties at the maximum of the deciding draw: resolved on the host
                top = scores[0].gather(1, best[0][:, None])
                tied = torch.nonzero((scores[0] == top).sum(dim=1) > 1)[:, 0].cpu().numpy()
                if tied.size:
                    sub = scores[0][torch.as_tensor(tied, device=cov_u.device)].double().cpu().numpy()
                    best[0, torch.as_tensor(tied, device=cov_u.device)] = torch.as_tensor(
                        top_k(sub, None if mask is None else mask[tied], 1, rng)[:, 0], device=cov_u.device)
            winners[lo:lo + n] = best.cpu().numpy()
        return winners

    return draw


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
