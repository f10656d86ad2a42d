"""Adapters for the peer libraries: Open Bandit Pipeline, MABWiser, Vowpal Wabbit.

Each adapter is guarded by its import: a peer that is missing is reported as
"not installed" (with the import error) and skipped.  Every adapter exposes, per problem,
factories ``make(seed, n_arms, dim) -> policy`` whose ``act(x) -> int`` and
``update(x, a, r)`` handle one decision (``x`` is None on problem (a)).  Peers decide one
at a time, so their seeds run one after another.
"""

from __future__ import annotations

import importlib
from importlib import metadata


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


class ObpPolicy:
    """obp policy: ``select_action`` / ``update_params`` (contexts of shape (1, d))."""

    def __init__(self, policy, contextual: bool):
        self.p, self.contextual = policy, contextual

    def act(self, x):
        return int(self.p.select_action(x[None, :])[0] if self.contextual else self.p.select_action()[0])

    def update(self, x, a, r):
        if self.contextual:
            self.p.update_params(action=a, reward=r, context=x[None, :])
        else:
            self.p.update_params(action=a, reward=r)


class MabwiserPolicy:
    """MABWiser ``MAB``: ``fit`` on the first decision (it refuses to predict before), then
    ``predict`` / ``partial_fit`` one decision at a time."""

    def __init__(self, mab, n_arms: int, seed: int, contextual: bool):
        import numpy as np

        self.mab, self.contextual, self.fitted = mab, contextual, False
        self.first = int(np.random.default_rng(seed).integers(n_arms))

    def act(self, x):
        if not self.fitted:
            return self.first
        return int(self.mab.predict(x[None, :]) if self.contextual else self.mab.predict())

    def update(self, x, a, r):
        kw = {"contexts": x[None, :]} if self.contextual else {}
        (self.mab.partial_fit if self.fitted else self.mab.fit)([a], [r], **kw)
        self.fitted = True


class VwPolicy:
    """Vowpal Wabbit ``--cb_explore K --epsilon ε``: VW returns the pmf, we sample from it;
    costs are −reward; contexts go in as a text example (what VW's Python API takes)."""

    def __init__(self, vw, seed: int):
        import numpy as np

        self.vw, self.rng = vw, np.random.default_rng(seed)
        self.p = 1.0

    @staticmethod
    def _features(x) -> str:
        return "|" if x is None else "| " + " ".join(f"f{i}:{v:.6f}" for i, v in enumerate(x))

    def act(self, x):
        import numpy as np

        pmf = self.vw.predict(self._features(x))
        a = int(np.searchsorted(np.cumsum(pmf), self.rng.random() * sum(pmf)))
        a = min(a, len(pmf) - 1)
        self.p = pmf[a]
        return a

    def update(self, x, a, r):
        self.vw.learn(f"{a + 1}:{-r}:{self.p} {self._features(x)}")


def _obp():
    """obp policies with the parameter that means the same thing set to our default (ε = 0.1;
    LinUCB α = 1, obp's ``epsilon``; obp's LinTS has no noise parameter)."""
    from obp.policy import BernoulliTS, EpsilonGreedy, LinTS, LinUCB

    a = {"thompson": lambda s, k, d: ObpPolicy(BernoulliTS(n_actions=k, random_state=s), False),
         "epsilon_greedy": lambda s, k, d: ObpPolicy(EpsilonGreedy(n_actions=k, epsilon=0.1, random_state=s), False)}
    b = {"linucb": lambda s, k, d: ObpPolicy(LinUCB(dim=d, n_actions=k, epsilon=1.0, random_state=s), True),
         "lin_ts": lambda s, k, d: ObpPolicy(LinTS(dim=d, n_actions=k, random_state=s), True),
         "epsilon_greedy": lambda s, k, d: ObpPolicy(EpsilonGreedy(n_actions=k, epsilon=0.1, random_state=s), False)}
    return {"a": a, "b": b}


def _mabwiser():
    """MABWiser policies matched to our defaults (ε = 0.1, UCB1 α = 1, LinUCB α = 1, LinTS α =
    our LinTS noise scale 0.5)."""
    from mabwiser.mab import MAB
    from mabwiser.mab import LearningPolicy as LP

    def mk(lp, contextual):
        return lambda s, k, d: MabwiserPolicy(MAB(arms=list(range(k)), learning_policy=lp(), seed=s), k, s, contextual)

    a = {"thompson": mk(LP.ThompsonSampling, False), "ucb1": mk(lambda: LP.UCB1(alpha=1.0), False),
         "epsilon_greedy": mk(lambda: LP.EpsilonGreedy(epsilon=0.1), False)}
    b = {"linucb": mk(lambda: LP.LinUCB(alpha=1.0), True), "lin_ts": mk(lambda: LP.LinTS(alpha=0.5), True),
         "epsilon_greedy": mk(lambda: LP.EpsilonGreedy(epsilon=0.1), False)}
    return {"a": a, "b": b}


def _vw():
    import vowpalwabbit

    def mk(s, k, d):
        return VwPolicy(vowpalwabbit.Workspace(f"--cb_explore {k} --epsilon 0.1 --quiet --random_seed {s}"), s)

    return {"a": {"epsilon_greedy": mk}, "b": {"epsilon_greedy": mk}}


PEERS = {
    "obp": ("obp", "obp", _obp, "obp 0.4.1 policies, parameters matched to our defaults; ε-greedy is context-free"),
    "mabwiser": ("mabwiser", "mabwiser", _mabwiser, "ε-greedy is context-free"),
    "vw": ("vowpalwabbit", "vowpalwabbit", _vw, "--cb_explore ε-greedy; on (b) it is contextual (linear per-arm costs)"),
}


def load_peers(names=None, log=print) -> tuple[dict, dict]:
    """({peer: {part: {policy: factory}}}, {peer: status dict}) for the peers in ``names``
    (default all) that import; the others get ``installed: False`` and the error."""
    found, status = {}, {}
    for name, (module, dist, build, note) in PEERS.items():
        if names is not None and name not in names:
            continue
        try:
            importlib.import_module(module)
            found[name] = build()
            status[name] = {"installed": True, "version": _version(dist), "note": note}
        except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
            line = f"{type(exc).__name__}: {exc}".splitlines()[0]
            status[name] = {"installed": False, "error": line}
            log(f"  peer {name}: not installed ({line})")
    return found, status
