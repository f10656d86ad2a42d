"""The off-policy estimators by name: one table that the ``ope`` config's choices and every dispatch read.

An estimator is a function ``(log, action_dist, *, alpha, interval, random_state, cluster, ...) ->
Estimate`` (:mod:`banditsim.sim.ope.ipw` is the pattern). :data:`ESTIMATORS` names each one by its
``"module:function"`` path, imported when first used, so that reading the choices (the config does)
imports no estimator. Adding an estimator is its module plus one :func:`register_estimator` line
below; it then is a choice of ``experiment.estimators`` in ``banditsim ope`` configs, runs by
default there and on ``banditsim ope --log``, and in the coverage study (:mod:`banditsim.sim.ope.coverage`).
Like Open Bandit Pipeline's ``OffPolicyEvaluation``, callers loop over the table and hand every
estimator the same inputs; an entry says which extra ones it takes. Slate estimators (the ope
experiment on slates) have their own table, :data:`SLATE_ESTIMATORS`: a function of the slate log
and the target's probabilities, plus one :func:`register_slate_estimator` line.

>>> list(ESTIMATORS)
['ips', 'snips', 'dm', 'dr', 'switch_dr']
>>> get_estimator("switch_dr").options
{'tau': 'switch_tau'}
>>> get_estimator("mips")
Traceback (most recent call last):
...
banditsim.sim.ope.log.OPEInputError: unknown estimator 'mips'; choose from ips, snips, dm, dr, switch_dr
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from banditsim.sim.ope.log import OPEInputError


def _imported(function):
    """``function`` itself, or the function a ``"module:function"`` path names (imported now)."""
    if not isinstance(function, str):
        return function
    module, _, attr = function.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class EstimatorSpec:
    """One registered estimator.

    ``function``: a ``"module:function"`` path or the function itself. ``reward_model``: it takes
    ``estimated_rewards`` (q̂ of every action; DM, DR). ``options``: its keyword → the name of the
    experiment setting that gives it (switch-DR's ``tau`` is the config's ``switch_tau``).
    """

    name: str
    function: object
    reward_model: bool = False
    options: Mapping[str, str] = field(default_factory=dict)

    def resolve(self):
        """The estimator function (imported on first use)."""
        return _imported(self.function)

    def __call__(self, log, action_dist, *, estimated_rewards=None, settings: Mapping | None = None,
                 **common):
        """The estimate on ``log``: ``common`` goes to every estimator, ``estimated_rewards`` to those
        with a reward model, a setting of ``settings`` to those whose ``options`` name it."""
        extra = {kw: settings[name] for kw, name in self.options.items() if settings and name in settings}
        if self.reward_model:
            extra["estimated_rewards"] = estimated_rewards
        return self.resolve()(log, action_dist, **common, **extra)


ESTIMATORS: dict[str, EstimatorSpec] = {}
"""Registered estimators by name, in registration order (the default order of result rows)."""


def register_estimator(name: str, function, *, reward_model: bool = False,
                       options: Mapping[str, str] | None = None) -> EstimatorSpec:
    """Add estimator ``name`` (see :class:`EstimatorSpec`); a name is registered once."""
    if name in ESTIMATORS:
        raise ValueError(f"estimator {name!r} is already registered")
    ESTIMATORS[name] = EstimatorSpec(name, function, reward_model, dict(options or {}))
    return ESTIMATORS[name]


def get_estimator(name: str) -> EstimatorSpec:
    """The registered estimator ``name``; an unknown name is one error listing the known ones."""
    try:
        return ESTIMATORS[name]
    except KeyError:
        raise OPEInputError(f"unknown estimator {name!r}; choose from {', '.join(ESTIMATORS)}") from None


def needs_reward_model(names) -> bool:
    """True when any of the estimators ``names`` takes a reward model."""
    return any(get_estimator(n).reward_model for n in names)


register_estimator("ips", "banditsim.sim.ope.ipw:ips")
register_estimator("snips", "banditsim.sim.ope.ipw:snips")
register_estimator("dm", "banditsim.sim.ope.direct:direct_method", reward_model=True)
register_estimator("dr", "banditsim.sim.ope.doubly_robust:doubly_robust", reward_model=True)
register_estimator("switch_dr", "banditsim.sim.ope.switch_dr:switch_dr", reward_model=True,
                   options={"tau": "switch_tau"})


@dataclass(frozen=True)
class SlateEstimatorSpec:
    """One registered slate estimator: ``function(slate_log, target_pscores, *, alpha, interval,
    random_state, cluster) -> Estimate``, fed the target's ``target`` probabilities: ``"item_position"``
    (each item at its position, the independence assumption of IIPS) or ``"cascade"`` (the slate's
    prefix up to each position, RIPS and standard slate IPS)."""

    name: str
    function: object
    target: str

    def resolve(self):
        """The estimator function (imported on first use)."""
        return _imported(self.function)


SLATE_ESTIMATORS: dict[str, SlateEstimatorSpec] = {}
"""Registered slate estimators by name (``banditsim ope`` on slates runs every one of them)."""


def register_slate_estimator(name: str, function, *, target: str) -> SlateEstimatorSpec:
    """Add slate estimator ``name``; ``target`` is ``"item_position"`` or ``"cascade"``.

    >>> sorted(SLATE_ESTIMATORS), SLATE_ESTIMATORS["iips"].target
    (['iips', 'rips', 'sips'], 'item_position')
    """
    if name in SLATE_ESTIMATORS:
        raise ValueError(f"slate estimator {name!r} is already registered")
    if target not in ("item_position", "cascade"):
        raise ValueError(f"target must be 'item_position' or 'cascade', got {target!r}")
    SLATE_ESTIMATORS[name] = SlateEstimatorSpec(name, function, target)
    return SLATE_ESTIMATORS[name]


register_slate_estimator("iips", "banditsim.sim.ope.slate:independent_ips", target="item_position")
register_slate_estimator("rips", "banditsim.sim.ope.slate:reward_interaction_ips", target="cascade")
register_slate_estimator("sips", "banditsim.sim.ope.slate:standard_ips", target="cascade")
