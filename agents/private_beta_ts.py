"""Locally differentially private Beta Thompson sampling: randomised response on binary feedback.

The guarantee: **ε-local differential privacy of each answer's reward.**  Each answer is reduced
to one bit the way ``beta_ts`` with ``binarize=True`` does it: the reward is mapped from
``reward_range`` onto s ∈ [0, 1] (clipped; the default (0, 1) makes a like or a save 1, a click
0.5 and every non-positive answer 0) and y ~ Bernoulli(s).  The bit is randomised before the agent
stores anything: it is kept with probability p = e^ε/(1 + e^ε) and flipped otherwise (Warner
1965).  For either reported value ỹ and any two rewards r, r′, P(ỹ | r) and P(ỹ | r′) both lie in
[1 − p, p], so their ratio is at most p/(1 − p) = e^ε: whoever sees the agent's state, its actions
or the reported bit learns about the reward no more than ε allows, for each answer separately (k
answers of one person: kε by composition).  Which item was shown is the agent's own action and
is not protected.  The coins (Bernoulli and flips) come from a stream derived from ``random_state``
(secret in deployment, as the device's coin would be; the simulator's seed is for reproducibility).

Learning from the flipped bits: ỹ ~ Bernoulli(q) with q = (1 − p) + (2p − 1)·μ, μ the arm's mean
of s (``beta_ts``'s success rate).  The agent keeps the exact Beta posterior of q from the
reported bits (prior Beta(α₀, β₀) on q; it ignores that q lies in [1 − p, p], so early draws may
fall outside, which only widens exploration) and ranks arms by draws of q; since q is increasing
in μ (p > 1/2), that is the ranking by μ = (q − (1 − p))/(2p − 1), whose posterior mean
``debiased_rate`` returns (the unbiased randomised-response estimate as the counts grow).  As
ε → ∞ flips vanish (1 − p = expit(−ε) is 0 in floating point from ε ≈ 745) and the agent is
``beta_ts`` with ``binarize=True`` and the same ``reward_range``, the same model and objective as
``beta_ts`` (equal in expectation; ``tests/agents/test_private_limit.py``).  Small ε (p → 1/2)
washes the signal out and regret grows.  The bit is Bernoulli of the mapped reward, not
1[reward > 0], so that a click counts less than a save, as in ``beta_ts``'s objective.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import expit

from banditsim.agents._state.arm_stats import check_range, unit_interval
from banditsim.agents._validation import check_float
from banditsim.agents.base import SamplingAgent
from banditsim.agents.beta_ts import BetaTSAgent


def keep_probability(epsilon: float) -> float:
    """p = e^ε/(1 + e^ε), the probability randomised response reports the true bit.

    >>> import math
    >>> round(keep_probability(math.log(3.0)), 6)
    0.75
    """
    return float(expit(epsilon))  # no overflow for any ε (math.exp(ε) overflowed above ~709)


def randomized_response(bits: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """Each bit kept with probability e^ε/(1 + e^ε), flipped otherwise (float 0/1 array)."""
    flip = rng.random(bits.shape) < expit(-epsilon)  # 1 − p, accurate (and finite) for large ε
    return np.where(flip, 1.0 - bits, bits).astype(np.float64)


def reported_bits(success: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """Randomised response on y ~ Bernoulli(success): row i uses the i-th pair (coin, flip) of uniforms,
    so one call over rows equals calls over consecutive parts of them (batched updates, bit for bit).

    >>> reported_bits(np.array([1.0, 0.0, 1.0]), 800.0, np.random.default_rng(0)).tolist()
    [1.0, 0.0, 1.0]
    """
    u = rng.random((success.shape[0], 2))
    bits = u[:, 0] < success
    flip = u[:, 1] < expit(-epsilon)
    return np.where(flip, ~bits, bits).astype(np.float64)


class PrivateBetaTSAgent(SamplingAgent):
    """Beta Thompson sampling on randomised-response bits: ε-LDP per answer (module docstring).

    ``reward_range`` maps rewards onto [0, 1] as in ``beta_ts``; the bit is Bernoulli of the mapped reward.

    Examples
    --------
    >>> from banditsim.agents import Feedback
    >>> agent = PrivateBetaTSAgent(n_arms=2, epsilon=50.0, random_state=0)  # flips ~never at ε = 50
    >>> agent.update(None, np.array([0, 0, 1]), Feedback(reward=[1.0, 2.0, -0.1]))
    >>> agent.alpha.tolist(), agent.beta.tolist()
    ([[3.0, 1.0]], [[1.0, 2.0]])
    """

    name = "private_beta_ts"
    test_params: ClassVar[dict[str, Any]] = {"n_propensity_draws": 32, "epsilon": 1.0}

    def __init__(self, n_arms, *, epsilon: float = 1.0, alpha_prior: float = 1.0, beta_prior: float = 1.0,
                 reward_range=(0.0, 1.0), n_propensity_draws: int = 256, **kwargs):
        super().__init__(n_arms, n_propensity_draws=n_propensity_draws, **kwargs)
        self.epsilon = check_float("epsilon", epsilon, 0.0, low_open=True)
        self.alpha_prior = check_float("alpha_prior", alpha_prior, 0.0, low_open=True)
        self.beta_prior = check_float("beta_prior", beta_prior, 0.0, low_open=True)
        self.reward_range = check_range("reward_range", reward_range)
        self.keep = keep_probability(self.epsilon)
        self.alpha = np.full((self.n_replicas, self.n_arms), self.alpha_prior)
        self.beta = np.full((self.n_replicas, self.n_arms), self.beta_prior)
        self._fast = min(self.alpha_prior, self.beta_prior) >= 1.0
        self._pool = None
        self._flip_rng = self._rng.spawn(1)[0]

    # Beta posterior draws, the lazy exact sampler and its upkeep are beta_ts's (same state names)
    _exceedance = BetaTSAgent._exceedance
    _posterior_draws = BetaTSAgent._posterior_draws

    def reseed(self, random_state) -> None:
        super().reseed(random_state)
        if self._pool is not None:
            self._pool.reset()
        self._flip_rng = self._rng.spawn(1)[0]

    def debiased_rate(self, replica: np.ndarray) -> np.ndarray:
        """Posterior mean of each arm's true positive rate μ = (q − (1 − p))/(2p − 1), (B, n_arms)."""
        a, b = self.alpha[replica], self.beta[replica]
        return (a / (a + b) - (1.0 - self.keep)) / (2.0 * self.keep - 1.0)

    def _learn(self, rows, arms, reward, kind):
        reported = reported_bits(unit_interval(reward, self.reward_range), self.epsilon, self._flip_rng)
        np.add.at(self.alpha, (rows.replica, arms), reported)
        np.add.at(self.beta, (rows.replica, arms), 1.0 - reported)
        if self._pool is not None:
            self._pool.alpha, self._pool.beta = self.alpha, self.beta
            self._pool.observe(rows.replica, arms, reported, self._rng)
