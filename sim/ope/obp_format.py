"""Conversion between :class:`BanditLog` and Open Bandit Pipeline's ``bandit_feedback`` dict.

Needs no ``obp`` import: the dict is plain numpy arrays under obp's key names
(``n_rounds, n_actions, action, position, reward, pscore, context, action_context``,
plus ``expected_reward`` when known).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from banditsim.sim.ope.log import BanditLog, OPEInputError

_REQUIRED = ("n_actions", "action", "reward", "pscore")


def to_obp_dict(log: BanditLog) -> dict[str, Any]:
    """Return obp's ``bandit_feedback`` dict for ``log`` (arrays are shared, not copied).

    Examples
    --------
    >>> log = BanditLog(n_actions=2, action=[1, 0], reward=[1, 0], pscore=[0.5, 0.5])
    >>> d = to_obp_dict(log)
    >>> d["n_rounds"], d["position"].tolist(), d["context"] is None
    (2, [0, 0], True)
    >>> from_obp_dict(d).action.tolist()
    [1, 0]
    """
    d: dict[str, Any] = {
        "n_rounds": log.n_rounds,
        "n_actions": log.n_actions,
        "action": log.action,
        "position": log.position,
        "reward": log.reward,
        "pscore": log.pscore,
        "context": log.context,
        "action_context": log.action_context,
    }
    if log.expected_reward is not None:
        d["expected_reward"] = log.expected_reward
    return d


def from_obp_dict(feedback: dict[str, Any]) -> BanditLog:
    """Build a :class:`BanditLog` from obp's ``bandit_feedback`` dict.

    ``position=None`` means a non-slate log; ``n_rounds``, when present, must match the
    arrays. Keys obp adds that a log does not keep (e.g. ``pi_b``) are ignored.
    """
    if not isinstance(feedback, dict):
        raise OPEInputError(f"bandit_feedback must be a dict, got {type(feedback).__name__}")
    missing = [k for k in _REQUIRED if feedback.get(k) is None]
    if missing:
        raise OPEInputError(f"bandit_feedback lacks required key(s): {', '.join(missing)}")
    log = BanditLog(
        n_actions=int(feedback["n_actions"]),
        action=np.asarray(feedback["action"]),
        reward=np.asarray(feedback["reward"]),
        pscore=np.asarray(feedback["pscore"]),
        position=feedback.get("position"),
        context=feedback.get("context"),
        action_context=feedback.get("action_context"),
        expected_reward=feedback.get("expected_reward"),
    )
    n_rounds = feedback.get("n_rounds")
    if n_rounds is not None and int(n_rounds) != log.n_rounds:
        raise OPEInputError(f"n_rounds is {n_rounds} but action has {log.n_rounds} rows")
    return log
