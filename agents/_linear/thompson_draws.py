"""Single-item Thompson decisions of the linear agents (LinTS, logistic TS) in shared mode.

u_b = mean_b + scale·F_b ε (F_b the Cholesky factor of S_b), item scores u_b·z̃ in one float32 GEMM
per chunk of draws, masked argmax in place, on the posterior's backend (numpy or a torch device: one
code over the array API, ``banditsim._xp``; the standard normals always come from the numpy
Generators, so both backends make the same draws).  The deciding draw is made at once; the
``n_propensity_draws`` Monte-Carlo draws come from the posterior frozen at act time and a child
random stream (``SamplingAgent._propensity_rng``) the first time ``Decision.propensities`` or
``probabilities`` is read, so unlogged steps skip them and reading them never changes the actions.
Disjoint mode needs nothing here: its scores are independent Gaussians per arm, which
``SamplingAgent._decide`` decides with the ``GaussianWinProbability`` quadrature as the propensity.
"""

from __future__ import annotations

import numpy as np

from banditsim._blas_threads import one_blas_and_torch_thread as one_blas_thread
from banditsim._xp import cholesky, from_host, is_torch_array, namespace, to_host
from banditsim.agents._linear.model import row_scale
from banditsim.agents._selection.ranking import top_k
from banditsim.agents._state.scratch import Scratch

_CHUNK = 1 << 21  # score elements per chunk of draws


class LinearTSDecideMixin:
    """``_decide`` for the linear Thompson agents in shared mode (single items); the disjoint mode
    (``_independent_gaussian``) and slates are ``SamplingAgent._decide``'s."""

    def _decide(self, rows):
        if self.slate_size == 1 and self.mode == "shared":
            return self._decide_shared(rows)
        return super()._decide(rows)

    def _decide_shared(self, rows):
        n_rows, n_arms, n_total = rows.n_rows, self.n_arms, self.n_propensity_draws + 1
        with one_blas_thread():  # small products: BLAS worker threads cost more than they give
            sampler = _shared_sampler(self, rows)
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


def _shared_sampler(agent, rows):
    """``draw(n, rng, decide) -> (n, B)`` masked argmax items of n independent posterior draws, from
    the posterior as it is now (later updates do not reach it); ``decide``: random tie-breaks and,
    on the host, the agent's scratch buffer (the deciding draw), else fresh arrays (a propensity
    read, later)."""
    items, mean_u, packed, inverse = agent._shared_packed(rows, on_device=True)
    xp = namespace(mean_u)
    factor, ok = cholesky(agent.posterior.unpack(packed), relative_jitter=1e-12)  # one per distinct row
    if not ok:
        raise np.linalg.LinAlgError("the projected posterior covariance is not positive semi-definite")
    scale = row_scale(agent, rows.replica)
    scale = scale if np.isscalar(scale) else from_host(scale, mean_u)
    items32 = xp.astype(from_host(items.T, mean_u), xp.float32)
    if bool(xp.any(xp.isnan(items32))):
        raise FloatingPointError("agent produced NaN scores")
    n_rows, n_arms, mask = rows.n_rows, agent.n_arms, rows.mask
    blocked = None if mask is None else from_host(np.flatnonzero(~mask), mean_u, "int64")  # usually few

    def draw(n_draws: int, rng: np.random.Generator, decide: bool) -> np.ndarray:
        winners = np.empty((n_draws, n_rows), dtype=np.intp)
        chunk = max(1, _CHUNK // max(1, n_rows * n_arms))
        row_factor = factor[inverse] if n_draws else None
        for lo in range(0, n_draws, chunk):
            n = min(chunk, n_draws - lo)
            eps = from_host(rng.standard_normal((n, *mean_u.shape)), mean_u)
            u = mean_u + scale * xp.einsum("bjl,nbl->nbj", row_factor, eps)
            if bool(xp.any(xp.isnan(u))):
                raise FloatingPointError("agent produced NaN scores")
            scores = _scores(agent, xp.astype(u, xp.float32), items32, decide)
            if blocked is not None:
                xp.reshape(scores, (n, -1))[:, blocked] = -xp.inf
            best = xp.argmax(scores, axis=2)
            if decide and lo == 0:
                best[0] = _break_ties(scores[0], best[0], mask, rng)
            winners[lo:lo + n] = to_host(best)
        return winners

    return draw


def _scores(owner, u32, items32, decide: bool):
    """u·z̃ of every draw and item (n, B, K); a numpy deciding draw writes into ``owner``'s float32
    buffer (``Scratch``: reused, never pickled)."""
    if not decide or is_torch_array(u32):
        return u32 @ items32
    out = owner.__dict__.setdefault("_decide_scratch", Scratch()).buffer("scores", (*u32.shape[:2], items32.shape[1]),
                                                                         np.float32)
    return np.matmul(u32, items32, out=out)


def _break_ties(scores, best, mask, rng):
    """Rows whose maximum is tied get a uniformly random tied item (``top_k``, on the host); others keep
    ``best``."""
    xp = namespace(scores)
    top = scores[from_host(np.arange(best.shape[0]), scores, "int64"), best][:, None]
    tied = to_host(xp.nonzero(xp.sum(xp.astype(scores == top, xp.int64), axis=1) > 1)[0])
    if tied.size:
        rows = from_host(tied, scores, "int64")
        tied_scores = to_host(xp.astype(scores[rows], xp.float64))
        best[rows] = from_host(top_k(tied_scores, None if mask is None else mask[tied], 1, rng)[:, 0], best, "int64")
    return best
