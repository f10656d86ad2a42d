"""Beta-Bernoulli Thompson sampling."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from banditsim.agents._selection.row_groups import row_groups
from banditsim.agents._state import one_row
from banditsim.agents._state.arm_stats import unit_interval
from banditsim.agents._thompson import beta_ladder as ladder
from banditsim.agents._thompson.beta_exact import decide_exact, dense_winners, few_rows_per_replica
from banditsim.agents._thompson.beta_exceedance import ExceedancePool
from banditsim.agents._thompson.beta_ladder import MIN_ARMS, LadderSampler
from banditsim.agents._validation import check_float, check_range
from banditsim.agents.base import SamplingAgent


def beta_draws(a: np.ndarray, b: np.ndarray, n: int, rng: np.random.Generator, fast: bool) -> np.ndarray:
    """``n`` independent Beta(a, b) draws, shape (n, *a.shape), via two gamma variates.

    ``fast`` forms the ratio directly (valid when every shape is >= 1, so nothing
    underflows; float64 gammas cost the same as float32 ones here and never tie);
    otherwise the ratio is formed in log space, which is safe for tiny shapes.
    """
    size = (n, *a.shape)
    if fast:
        x = rng.standard_gamma(a, size=size)
        return x / (x + rng.standard_gamma(b, size=size))
    # Gamma(a) = Gamma(a + 1) * U^(1/a): log-space keeps tiny shapes away from 0/0.
    log_x = np.log(rng.standard_gamma(a + 1.0, size=size)) + np.log(rng.random(size)) / a
    log_y = np.log(rng.standard_gamma(b + 1.0, size=size)) + np.log(rng.random(size)) / b
    return 1.0 / (1.0 + np.exp(log_y - log_x))


def beta_draws_power_cases(a: np.ndarray, b: np.ndarray, n: int, rng: np.random.Generator,
                           fast: bool) -> np.ndarray:
    """``beta_draws``, except that a shape of exactly 1 is drawn by inversion of its closed-form
    CDF from one uniform U in (0, 1]: Beta(1, b) = 1 − U^(1/b), Beta(a, 1) = U^(1/a) (the power
    laws).  That costs a fraction of two gamma variates, and sparse rewards keep most arms at
    alpha = 1 (no success yet) for a long time; other arms take ``beta_draws``."""
    size = (n, *a.shape)
    a_all, b_all = np.broadcast_to(a, size).reshape(-1), np.broadcast_to(b, size).reshape(-1)
    one_a = a_all == 1.0
    one_b = b_all == 1.0
    if not (one_a.any() or one_b.any()):
        return beta_draws(a, b, n, rng, fast)
    one_b &= ~one_a
    rest = np.flatnonzero(~(one_a | one_b))
    out = np.empty(a_all.size)
    i, j = np.flatnonzero(one_a), np.flatnonzero(one_b)
    out[i] = -np.expm1(np.log1p(-rng.random(i.size)) / b_all[i])  # 1 − U^(1/b)
    out[j] = np.exp(np.log1p(-rng.random(j.size)) / a_all[j])  # U^(1/a)
    if rest.size:
        out[rest] = beta_draws(a_all[rest], b_all[rest], 1, rng, fast)[0]
    return out.reshape(size)


class BetaTSAgent(SamplingAgent):
    """Thompson sampling with a Beta(alpha, beta) posterior per arm.

    Rewards are mapped from ``reward_range`` onto [0, 1] (clipped; with the default
    (0, 1) a negative reward is a failure).  By default the mapped reward r is used as a
    fractional success (alpha += r, beta += 1 − r); with ``binarize=True`` a Bernoulli(r)
    success is drawn instead (Agrawal & Goyal 2012), which keeps the posterior exact for
    Bernoulli rewards and is equivalent in expectation otherwise.  Single items for replicas
    serving at most 3 rows each (one stream, seeds as replicas) draw one sample per row and
    compute the exact propensity by quadrature only when it is read (``banditsim.agents._thompson.beta_exact``);
    that sample's winner comes from one uniform per arm and the quantiles of the few arms above a
    ladder of thresholds (``banditsim.agents._thompson.beta_ladder``: from 256 arms, or 16 for a one-row act)
    instead of two gamma variates per arm; below that, arms with a shape of exactly 1 are drawn by
    inversion (``beta_draws_power_cases``).  Replicas serving more rows share Monte-Carlo draws,
    and big such acts draw only the arms that can win (``banditsim.agents._thompson.beta_exceedance``).  Every path draws
    from the exact posterior.

    Examples
    --------
    >>> from banditsim.agents import Feedback
    >>> agent = BetaTSAgent(n_arms=2, random_state=0, n_propensity_draws=64)
    >>> agent.update(None, np.array([0, 0, 1]), Feedback(reward=[1.0, 1.0, 0.0]))
    >>> agent.alpha.tolist(), agent.beta.tolist()
    ([[3.0, 1.0]], [[1.0, 2.0]])
    >>> d = agent.act()
    >>> bool(0 < d.propensities[0] <= 1), bool(np.isclose(d.probabilities.sum(), 1))
    (True, True)
    """

    name = "beta_ts"
    test_params: ClassVar[dict[str, Any]] = {"n_propensity_draws": 32}

    def __init__(self, n_arms, *, alpha_prior: float = 1.0, beta_prior: float = 1.0,
                 reward_range=(0.0, 1.0), binarize: bool = False, n_propensity_draws: int = 256, **kwargs):
        super().__init__(n_arms, n_propensity_draws=n_propensity_draws, **kwargs)
        self.alpha_prior = check_float("alpha_prior", alpha_prior, 0.0, low_open=True)
        self.beta_prior = check_float("beta_prior", beta_prior, 0.0, low_open=True)
        self.reward_range = check_range("reward_range", reward_range)
        if not isinstance(binarize, (bool, np.bool_)):
            raise ValueError(f"binarize must be a bool, got {binarize!r}")  # noqa: TRY004 (contract: ValueError)
        self.binarize = bool(binarize)
        self.alpha = np.full((self.n_replicas, self.n_arms), self.alpha_prior)
        self.beta = np.full((self.n_replicas, self.n_arms), self.beta_prior)
        self._fast = min(self.alpha_prior, self.beta_prior) >= 1.0
        self._pool: ExceedancePool | None = None
        self._threshold: LadderSampler | None = None

    def _exceedance(self):
        if self._pool is None:
            self._pool = ExceedancePool(self.alpha, self.beta)
        self._pool.alpha, self._pool.beta = self.alpha, self.beta
        return self._pool

    def reseed(self, random_state) -> None:
        super().reseed(random_state)
        if self._pool is not None:
            self._pool.reset()

    def _decide(self, rows):
        """Single items for replicas serving few rows take the exact Beta win probability, by
        quadrature when read (``banditsim.agents._thompson.beta_exact``): cheaper there than the slots a
        replica's rows share.  Every other act is ``SamplingAgent``'s."""
        if self.slate_size == 1 and few_rows_per_replica(rows.replica):
            fast = self._fast
            draw = lambda a, b, n, rng: beta_draws_power_cases(a, b, n, rng, fast)  # noqa: E731
            if rows.n_rows == 1:  # copies: the posterior read later (a slice copies faster than an index)
                r = rows.replica.item()
                a, b = self.alpha[r:r + 1].copy(), self.beta[r:r + 1].copy()
            else:
                a, b = self.alpha[rows.replica], self.beta[rows.replica]
            sparse = (self.n_arms >= MIN_ARMS or (rows.n_rows == 1 and self.n_arms >= ladder.MIN_ARMS_ONE_ROW)) \
                and self._sync(rows.replica)
            if sparse:
                items = self._threshold.winners(a, b, rows.replica, rows.mask, self._rng)
            else:
                items = dense_winners(a, b, rows.mask, draw, self._rng)
            return decide_exact(a, b, rows.mask, items, draw, self._propensity_rng, self.n_propensity_draws)
        return super()._decide(rows)

    def _sync(self, replica: np.ndarray) -> bool:
        """Bring the ladder sampler up to date with the rows' posteriors; False where a posterior
        changed in many arms at once (a discounted one): those are drawn in full."""
        if self._threshold is None:
            self._threshold = LadderSampler(self.n_replicas, self.n_arms)
        if replica.size == 1 and one_row.ENABLED:
            return self._threshold.sync_one(self.alpha, self.beta, int(replica[0]), 16)
        replicas = row_groups(replica)[0]
        return self._threshold.sync(self.alpha, self.beta, replicas, 16 * replicas.size)

    def _posterior_draws(self, replica, mask):
        a, b, fast = self.alpha[replica], self.beta[replica], self._fast  # copies: updates do not reach them
        if mask is not None:  # masked arms are never shown: sample them as cheap constants
            a = np.where(mask, a, 1.0)
            b = np.where(mask, b, 1.0)
        return lambda n, rng: beta_draws(a, b, n, rng, fast)

    def _posterior_at(self, replica, items):
        """Beta posterior mean and std of the chosen items' success rate (reward mapped to [0, 1])."""
        a, b = self.alpha[replica[:, None], items], self.beta[replica[:, None], items]
        total = a + b
        return a / total, np.sqrt(a * b / (total * total * (total + 1.0)))

    def _learn(self, rows, arms, reward, kind):
        if arms.size == 1:  # one row (a single stream): Python scalars, the same arithmetic
            self._learn_one(int(rows.replica[0]), int(arms[0]), reward.item())
            return
        success = unit_interval(reward, self.reward_range)
        if self.binarize:
            success = (self._rng.random(success.shape) < success).astype(np.float64)
        np.add.at(self.alpha, (rows.replica, arms), success)
        np.add.at(self.beta, (rows.replica, arms), 1.0 - success)
        self._observe(rows.replica, arms, success)

    def _learn_one(self, r: int, k: int, reward: float) -> None:
        """``_learn`` for one row: ``unit_interval`` and the binarizing draw in Python floats (the
        same IEEE operations and random stream), and the ladder told which pair changed."""
        low, high = self.reward_range
        success = min(max((reward - low) / (high - low), 0.0), 1.0)
        if self.binarize:
            success = float(self._rng.random((1,))[0] < success)
        self.alpha[r, k] += success
        self.beta[r, k] += 1.0 - success
        if self._threshold is not None and one_row.ENABLED:
            self._threshold.observe_one(self.alpha, self.beta, r, k)
        if self._pool is not None:
            self._observe(np.array([r]), np.array([k]), np.array([success]))

    def _observe(self, replica, arms, success) -> None:
        if self._pool is not None:
            self._pool.alpha, self._pool.beta = self.alpha, self.beta
            self._pool.observe(replica, arms, success, self._rng)
