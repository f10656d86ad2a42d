"""Locally differentially private Beta Thompson sampling: randomised response on binary feedback.

The guarantee: **ε-local differential privacy of each answer's bit.**  Each answer is reduced
to one bit, y = 1 when its reward is positive (click, like, save under the default reward map)
and 0 otherwise, and the bit is randomised before the agent stores anything: it is kept with
probability p = e^ε/(1 + e^ε) and flipped otherwise (Warner 1965).  For either reported value
ỹ, P(ỹ | y = 1) / P(ỹ | y = 0) ∈ {p/(1 − p), (1 − p)/p} = {e^ε, e^−ε}: whoever sees the agent's
state, its actions or the reported bit learns about the true bit no more than ε allows, for
each answer separately (k answers of one person: kε by composition).  Protected is the bit
only: which item was shown is the agent's own action, and the reward's size beyond its sign is
discarded.  The flips come from a stream derived from ``random_state`` (secret in deployment,
as the device's coin would be; the simulator's seed is for reproducibility).

Learning from the flipped bits: ỹ ~ Bernoulli(q) with q = (1 − p) + (2p − 1)·μ, μ the arm's
true positive rate.  The agent keeps the exact Beta posterior of q from the reported bits
(prior Beta(α₀, β₀) on q; it ignores that q lies in [1 − p, p], so early draws may fall outside,
which only widens exploration) and ranks arms by draws of q; since q is increasing in μ (p > 1/2),
that is the ranking by μ = (q − (1 − p))/(2p − 1), whose posterior mean ``debiased_rate``
returns (the unbiased randomised-response estimate as the counts grow).  Large ε makes flips
rare and the agent becomes ``beta_ts`` on the positive bit; small ε (p → 1/2) washes the
signal out and regret grows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import expit

from agents._validation import check_float
from agents.base import SamplingAgent
from agents.beta_ts import BetaTSAgent


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


class PrivateBetaTSAgent(SamplingAgent):
    """Beta Thompson sampling on randomised-response bits: ε-LDP per answer (module docstring).

    Examples
    --------
    >>> from agents import Feedback
    >>> agent = PrivateBetaTSAgent(n_arms=2, epsilon=50.0, random_state=0)  # flips ~never at ε = 50
    >>> agent.update(None, np.array([0, 0, 1]), Feedback(reward=[1.0, 0.5, -0.1]))
    >>> agent.alpha.tolist(), agent.beta.tolist()
    ([[3.0, 1.0]], [[1.0, 2.0]])
    """

    name = "private_beta_ts"
    test_params: ClassVar[dict[str, Any]] = {"n_propensity_draws": 32, "epsilon": 1.0}
    lazy_min_work: ClassVar[int] = BetaTSAgent.lazy_min_work

    def __init__(self, n_arms, *, epsilon: float = 1.0, alpha_prior: float = 1.0, beta_prior: float = 1.0,
                 n_propensity_draws: int = 256, **kwargs):
        super().__init__(n_arms, n_propensity_draws=n_propensity_draws, **kwargs)
        self.epsilon = check_float("epsilon", epsilon, 0.0, low_open=True)
        self.alpha_prior = check_float("alpha_prior", alpha_prior, 0.0, low_open=True)
        self.beta_prior = check_float("beta_prior", beta_prior, 0.0, low_open=True)
        self.keep = keep_probability(self.epsilon)
        self.alpha = np.full((self.n_replicas, self.n_arms), self.alpha_prior)
        self.beta = np.full((self.n_replicas, self.n_arms), self.beta_prior)
        self._fast = min(self.alpha_prior, self.beta_prior) >= 1.0
        self._pool = None
        self._flip_rng = self._rng.spawn(1)[0]

    # Beta posterior draws, the lazy exact sampler and its upkeep are beta_ts's (same state names)
    _exceedance = BetaTSAgent._exceedance
    _sampler = BetaTSAgent._sampler
    _frozen_replica_draws = BetaTSAgent._frozen_replica_draws

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
        reported = randomized_response((reward > 0).astype(np.float64), self.epsilon, self._flip_rng)
        np.add.at(self.alpha, (rows.replica, arms), reported)
        np.add.at(self.beta, (rows.replica, arms), 1.0 - reported)
        if self._pool is not None:
            self._pool.alpha, self._pool.beta = self.alpha, self.beta
            self._pool.observe(rows.replica, arms, reported, self._rng)
