"""Frozen policies built from a :class:`~banditsim.sim.config.policy_spec.PolicySpec` and trained on warm-up rows.

Every policy answers ``decide(features, mask, rng) -> (actions, propensities, probabilities)``
for a batch of B users: the items shown, the probability of each, and the full (B, n_items)
action distribution (``None`` only for agents that do not give one, e.g. Thompson sampling
gives a Monte-Carlo estimate, which is returned as is). A frozen policy never learns after
``fit``: its distribution is a fixed function of (features, mask).
"""

from __future__ import annotations

import numpy as np

from banditsim.envs.errors import BanditsimError
from banditsim.sim.config.policy_spec import PolicySpec
from banditsim.sim.policies.warmup import WarmupRows


class PolicyError(BanditsimError):
    """A policy cannot do what the experiment needs (e.g. give exact action probabilities)."""


def item_features(item_vectors: np.ndarray, dims: int) -> np.ndarray:
    """Item embeddings projected on their ``dims`` leading principal directions (n_items, dims).

    >>> x = np.random.default_rng(0).normal(size=(20, 6))
    >>> item_features(x, 3).shape
    (20, 3)
    """
    x = np.asarray(item_vectors, dtype=np.float64)
    xc = x - x.mean(axis=0)
    vecs = np.linalg.eigh(xc.T @ xc)[1][:, ::-1]      # principal directions, largest first
    return xc @ vecs[:, : min(dims, vecs.shape[1])]


def sample_rows(dist: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of a (B, n) probability matrix, by inverse CDF (never a zero-mass item).

    >>> sample_rows(np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]]), np.random.default_rng(0)).tolist()
    [1, 0]
    """
    cdf = np.cumsum(dist, axis=1)
    u = rng.random(dist.shape[0]) * cdf[:, -1]
    return (cdf > u[:, None]).argmax(axis=1).astype(np.int64)


def fit_ridge(rows: WarmupRows, n_items: int, item_feats: np.ndarray, ridge: float):
    """A :class:`banditsim.sim.ope.RidgeRewardModel` (features ⊗ item features) fitted on warm-up rows."""
    from banditsim.sim.ope import BanditLog, RidgeRewardModel

    log = BanditLog(n_actions=n_items, action=rows.action, reward=rows.reward, pscore=rows.pscore,
                    context=rows.features, action_context=item_feats)
    return RidgeRewardModel(features="action_context", ridge=ridge).fit(log)


def greedy_or_softmax(scores: np.ndarray, mask: np.ndarray, temperature: float, epsilon: float) -> np.ndarray:
    """(B, n) distribution: argmax (ties split) or softmax(scores / T) over allowed items, ε-mixed.

    >>> s = np.array([[1.0, 3.0, 3.0, 0.0]]); m = np.array([[True, True, True, False]])
    >>> greedy_or_softmax(s, m, 0.0, 0.0).tolist()
    [[0.0, 0.5, 0.5, 0.0]]
    >>> greedy_or_softmax(s, m, 0.0, 0.3).round(2).tolist()
    [[0.1, 0.45, 0.45, 0.0]]
    """
    s = np.where(mask, scores, -np.inf)
    top = s.max(axis=1, keepdims=True)
    if temperature == 0:
        p = (s == top).astype(np.float64)
    else:
        p = np.exp((s - top) / temperature)
    p /= p.sum(axis=1, keepdims=True)
    if epsilon:
        p = (1.0 - epsilon) * p + epsilon * mask / mask.sum(axis=1, keepdims=True)
    return p


class RidgeScores:
    """A fitted ridge model as ``scores(features) -> (B, n_items)``; the last batch's scores are
    reused when the same features array comes again (policies sharing a model score once a step).

    >>> from banditsim.sim.policies.warmup import WarmupRows
    >>> rng = np.random.default_rng(0); n = 200
    >>> rows = WarmupRows(rng.normal(size=(n, 3)), rng.integers(0, 4, n), rng.normal(size=n), np.zeros(n, int), np.full(n, 0.25))
    >>> f = RidgeScores(fit_ridge(rows, 4, np.eye(4), 1.0)); x = rng.normal(size=(5, 3))
    >>> f(x).shape, f(x) is f(x)
    ((5, 4), True)
    """

    def __init__(self, model):
        self.model = model
        self._features = self._scores = None

    def __call__(self, features: np.ndarray) -> np.ndarray:
        if features is not self._features:
            self._scores = self.model.predict_at_position(np.asarray(features, dtype=np.float64),
                                                          np.zeros(len(features), dtype=np.int64))
            self._features = features
        return self._scores


def shared_ridge(rows: WarmupRows, item_feats: np.ndarray, ridge: float, cache: dict) -> RidgeScores:
    """The :class:`RidgeScores` of penalty ``ridge`` on ``rows``, fitted once per ``cache``."""
    if ridge not in cache:
        cache[ridge] = RidgeScores(fit_ridge(rows, item_feats.shape[0], item_feats, ridge))
    return cache[ridge]


class RidgePolicy:
    """Greedy / softmax policy over a ridge reward model fitted on the warm-up rows."""

    def __init__(self, spec: PolicySpec, item_feats: np.ndarray, cache: dict | None = None):
        self.spec, self.label, self.item_feats = spec, spec.label, item_feats
        self.cache = {} if cache is None else cache
        self.scores = None

    def fit(self, rows: WarmupRows) -> RidgePolicy:
        self.scores = shared_ridge(rows, self.item_feats, self.spec.ridge, self.cache)
        return self

    def decide(self, features: np.ndarray, mask: np.ndarray, rng: np.random.Generator):
        scores = self.scores(features)
        dist = greedy_or_softmax(scores, mask, self.spec.temperature, self.spec.epsilon)
        actions = sample_rows(dist, rng)
        return actions, dist[np.arange(len(actions)), actions], dist


class AgentPolicy:
    """A registered agent trained on the warm-up rows (one batched update), then frozen."""

    def __init__(self, spec: PolicySpec, item_vectors: np.ndarray, kind_values, seed):
        from banditsim.agents.registry import make_agent

        self.spec, self.label = spec, spec.label
        self.arm_features = np.asarray(item_vectors, dtype=np.float64)
        self.agent = make_agent(spec.name, self.arm_features.shape[0], random_state=seed,
                                kind_values=list(kind_values), **spec.params)

    def fit(self, rows: WarmupRows) -> AgentPolicy:
        """One update on all warm-up rows, each at its decision step when ``rows`` has ``step`` (n,)
        (a forgetting agent then ages them as if it had learned step by step); without it the rows are
        one step, as one retraining on a batch."""
        from banditsim.agents.types import Context, Feedback

        ctx = Context(features=rows.features, arm_features=self.arm_features)
        step = getattr(rows, "step", None)
        self.agent.update(ctx, rows.action, Feedback(reward=rows.reward, kind=rows.kind, step=step))
        return self

    def decide(self, features: np.ndarray, mask: np.ndarray, rng: np.random.Generator):
        from banditsim.agents.types import Context

        d = self.agent.act(Context(features=features, arm_features=self.arm_features, mask=mask))
        return d.actions, d.propensities, d.probabilities


def build_policy(spec: PolicySpec, item_vectors: np.ndarray, item_feats: np.ndarray, kind_values, seed,
                 cache: dict | None = None):
    """The (unfitted) policy of ``spec``; call ``.fit(warmup_rows)`` next. Ridge policies with the
    same penalty share one model through ``cache``."""
    if spec.kind == "ridge":
        return RidgePolicy(spec, item_feats, cache)
    return AgentPolicy(spec, item_vectors, kind_values, seed)


def exact_probabilities(policy, features: np.ndarray, mask: np.ndarray, rng) -> np.ndarray:
    """The (B, n_items) action distribution of ``policy`` or a one-line :class:`PolicyError`."""
    _, _, probs = policy.decide(features, mask, rng)
    if probs is None:
        raise PolicyError(f"policy {policy.label!r} ({policy.spec.name}) gives no action probabilities; "
                          "use an agent such as epsilon_greedy, ucb1, linucb, random, or kind 'ridge'")
    return probs
