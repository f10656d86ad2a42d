"""Synthetic multi-round sessions with an exact population truth, for coverage studies.

Each of ``n_users`` users plays ``rounds`` rounds. Round contexts ``x ~ N(0, I_d)``; the user has
a hidden taste ``u ~ N(0, user_sd^2 I_K)`` (one number per action) that no policy sees, so the
rewards of one user are correlated across rounds — their rows are a cluster. Mean reward
``q(x, a, u) = sigmoid(x . theta_a + b_a + u_a)``; Bernoulli rewards.

Policies see ``x`` only. The population value of a policy ``pi`` is
``V = E_x [ sum_a pi(a | x) m_a(x) ]`` with ``m_a(x) = E_u sigmoid(x . theta_a + b_a + u_a)``:
``m`` by 40-node Gauss–Hermite quadrature (exact to ~1e-10), the outer mean over
``truth_draws`` fresh contexts (Monte-Carlo error reported by :func:`population_value`).

Logging: ``softmax(score(x) / temperature)`` mixed with ``epsilon`` uniform (``temperature=0``:
argmax), over a fixed noisy copy of the true scores (frozen), or over a per-action ridge model
refitted after every round on everything logged so far (``learning=True``: each row keeps the
propensity it was logged with). Targets (:func:`make_targets`) are fitted on a separate
warm-up sample: ``uniform``, ``greedy-ridge``, ``epsilon-greedy``, ``beta-ts`` (frozen
Bernoulli TS; exact probability that each arm's Beta draw is the largest) and ``linucb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from banditsim.sim.ope.log import BanditLog

_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(40)
_GH_W = _GH_W / _GH_W.sum()


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class SessionWorld:
    """The reward world: action parameters ``theta`` (K, d), ``bias`` (K,), taste spread ``user_sd``."""

    theta: np.ndarray
    bias: np.ndarray
    user_sd: float

    @classmethod
    def draw(cls, n_actions: int = 5, dim: int = 3, user_sd: float = 1.0, seed: int = 0) -> SessionWorld:
        """A random world (seeded)."""
        rng = np.random.default_rng(seed)
        return cls(theta=rng.normal(scale=1.0 / np.sqrt(dim), size=(n_actions, dim)),
                   bias=rng.normal(scale=0.5, size=n_actions) - 0.5, user_sd=float(user_sd))

    @property
    def n_actions(self) -> int:
        return int(self.theta.shape[0])

    def scores(self, x: np.ndarray) -> np.ndarray:
        """``x . theta_a + b_a``, (n, K)."""
        return x @ self.theta.T + self.bias

    def population_mean_reward(self, x: np.ndarray) -> np.ndarray:
        """``m_a(x) = E_u sigmoid(score + u_a)``, (n, K), by Gauss–Hermite quadrature over ``u``."""
        s = self.scores(x)
        return np.tensordot(_sigmoid(s[:, :, None] + self.user_sd * _GH_X), _GH_W, axes=([2], [0]))


class Policy:
    """A frozen policy: ``probs(x) -> (n, K)`` action distribution."""

    def __init__(self, label: str, fn):
        self.label, self._fn = label, fn

    def probs(self, x: np.ndarray) -> np.ndarray:
        """Action distribution for each context row."""
        return self._fn(x)


def greedy_or_softmax(scores: np.ndarray, temperature: float, epsilon: float) -> np.ndarray:
    """Argmax (``temperature == 0``) or softmax(scores / temperature), mixed with ``epsilon`` uniform."""
    k = scores.shape[1]
    if temperature == 0:
        p = np.zeros_like(scores)
        p[np.arange(len(scores)), scores.argmax(axis=1)] = 1.0
    else:
        p = _softmax(scores / temperature)
    return (1.0 - epsilon) * p + epsilon / k


def ridge_per_action(x: np.ndarray, action: np.ndarray, reward: np.ndarray, n_actions: int, ridge: float = 1.0):
    """Per-action ridge regression of reward on ``[1, x]``: coefficients (K, 1 + d) and Gram matrices."""
    z = np.hstack([np.ones((len(x), 1)), x])
    onehot = np.eye(n_actions)[action]                                     # (n, K)
    gram = np.einsum("na,ni,nj->aij", onehot, z, z) + ridge * np.eye(z.shape[1])
    rhs = np.einsum("na,ni,n->ai", onehot, z, reward)
    return np.linalg.solve(gram, rhs[:, :, None])[:, :, 0], gram


def _beta_ts_probs(successes: np.ndarray, failures: np.ndarray, grid: int = 4001) -> np.ndarray:
    """P(arm a's Beta(1+s, 1+f) draw is the largest), by quadrature of f_a * prod_b F_b on [0, 1]."""
    from scipy.stats import beta

    t = np.linspace(0.0, 1.0, grid)
    a, b = 1.0 + successes[:, None], 1.0 + failures[:, None]
    pdf, cdf = beta.pdf(t, a, b), beta.cdf(t, a, b)
    logc = np.log(np.clip(cdf, 1e-300, None))
    others = np.exp(logc.sum(axis=0) - logc)
    p = np.trapezoid(pdf * others, t, axis=1)
    return p / p.sum()


def make_targets(world: SessionWorld, warmup_rows: int = 1000, seed: int = 1,
                 names=("uniform", "greedy-ridge", "epsilon-greedy", "beta-ts", "linucb")) -> list[Policy]:
    """Target policies fitted on ``warmup_rows`` uniformly logged rows of ``world`` (fresh users)."""
    rng = np.random.default_rng(seed)
    k, d = world.n_actions, world.theta.shape[1]
    x = rng.normal(size=(warmup_rows, d))
    a = rng.integers(0, k, warmup_rows)
    u = rng.normal(scale=world.user_sd, size=(warmup_rows, k))
    r = (rng.random(warmup_rows) < _sigmoid(world.scores(x) + u)[np.arange(warmup_rows), a]).astype(float)
    coef, gram = ridge_per_action(x, a, r, k)
    inv = np.linalg.inv(gram)

    def zed(xx):
        return np.hstack([np.ones((len(xx), 1)), xx])

    def linucb(xx):
        z = zed(xx)
        bonus = np.sqrt(np.einsum("ni,aij,nj->na", z, inv, z))
        return greedy_or_softmax(z @ coef.T + 1.0 * bonus, 0.0, 0.0)

    ts = _beta_ts_probs(np.bincount(a, weights=r, minlength=k), np.bincount(a, weights=1 - r, minlength=k))
    table = {
        "uniform": lambda xx: np.full((len(xx), k), 1.0 / k),
        "greedy-ridge": lambda xx: greedy_or_softmax(zed(xx) @ coef.T, 0.0, 0.0),
        "epsilon-greedy": lambda xx: greedy_or_softmax(zed(xx) @ coef.T, 0.0, 0.1),
        "beta-ts": lambda xx: np.tile(ts, (len(xx), 1)),
        "linucb": linucb,
    }
    return [Policy(n, table[n]) for n in names]


def population_value(world: SessionWorld, policy: Policy, draws: int = 400_000, seed: int = 2):
    """``(V, mc_se)``: the policy's exact-in-``u`` population value, Monte Carlo over ``draws`` contexts."""
    rng = np.random.default_rng(seed)
    parts = []
    for start in range(0, draws, 50_000):                    # chunks: the quadrature holds 40 nodes per entry
        x = rng.normal(size=(min(50_000, draws - start), world.theta.shape[1]))
        parts.append(np.einsum("na,na->n", policy.probs(x), world.population_mean_reward(x)))
    per = np.concatenate(parts)
    return float(per.mean()), float(per.std(ddof=1) / np.sqrt(draws))


@dataclass(frozen=True)
class SessionLog:
    """A logged run: the :class:`BanditLog` (context = x), user id per row and the logging
    policy's full distribution per row (n, K)."""

    log: BanditLog
    user: np.ndarray
    behavior: np.ndarray


def session_log(world: SessionWorld, n_users: int, rounds: int, *, temperature: float = 1.0,
                epsilon: float = 0.1, learning: bool = False, score_noise: float = 0.5,
                seed=None) -> SessionLog:
    """Draw one log: every user plays ``rounds`` rounds (rows ordered round by round).

    Frozen logging scores are the true scores plus fixed noise of sd ``score_noise``
    (seeded by the world, so every log of a scenario has the same logging policy); learning
    logging starts uniform and refits :func:`ridge_per_action` after every round.
    """
    rng = np.random.default_rng(seed)
    k, d = world.n_actions, world.theta.shape[1]
    noisy = world.theta + np.random.default_rng(12345).normal(scale=score_noise / np.sqrt(d), size=world.theta.shape)
    taste = rng.normal(scale=world.user_sd, size=(n_users, k))
    xs, acts, rews, props, dists = [], [], [], [], []
    for t in range(rounds):                                  # loop over rounds, vectorised over users
        x = rng.normal(size=(n_users, d))
        if not learning:
            dist = greedy_or_softmax(x @ noisy.T + world.bias, temperature, epsilon)
        elif t == 0:
            dist = np.full((n_users, k), 1.0 / k)
        else:
            coef, _ = ridge_per_action(np.vstack(xs), np.concatenate(acts), np.concatenate(rews), k)
            dist = greedy_or_softmax(np.hstack([np.ones((n_users, 1)), x]) @ coef.T, temperature, epsilon)
        cdf = np.cumsum(dist, axis=1)
        a = np.minimum((cdf < rng.random(n_users)[:, None] * cdf[:, -1:]).sum(axis=1), k - 1)
        q = _sigmoid(world.scores(x) + taste)[np.arange(n_users), a]
        xs.append(x), acts.append(a), rews.append((rng.random(n_users) < q).astype(float))
        props.append(dist[np.arange(n_users), a]), dists.append(dist)
    log = BanditLog(n_actions=k, action=np.concatenate(acts), reward=np.concatenate(rews),
                    pscore=np.concatenate(props), context=np.vstack(xs))
    return SessionLog(log=log, user=np.tile(np.arange(n_users), rounds), behavior=np.vstack(dists))
