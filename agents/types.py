"""The three records exchanged between a runner and an agent: Context, Decision, Feedback."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _rows_of(name: str, arr: np.ndarray, ndim: int) -> int:
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    return int(arr.shape[0])


_FLOAT64, _BOOL, _INT64 = np.dtype(np.float64), np.dtype(bool), np.dtype(np.int64)


def _is_array_of(value, dtype: np.dtype) -> bool:
    """True when ``value`` is a plain ndarray of exactly ``dtype``, which ``np.asarray(value, dtype)``
    would return unchanged (native byte order: numpy's built-in dtypes are single objects)."""
    return type(value) is np.ndarray and value.dtype is dtype


@dataclass
class Context:
    """What an agent may see for a batch of ``n_rows`` decisions.

    Parameters
    ----------
    features : (B, d_u) float array or None
        Visible user features, one row per decision.
    arm_features : (n_arms, d) float array or None
        Item embeddings shared by every row (lets contextual agents score unseen items).
    mask : (B, n_arms) bool array or None
        True where the item may be shown; None means everything is allowed.
    replica : (B,) int array or None
        Which independent copy of the agent's state each row uses (default all 0).
    n_rows : int or None
        Batch size; inferred from the other fields, 1 when none is given.

    Examples
    --------
    >>> Context(replica=np.arange(3)).n_rows
    3
    >>> Context().n_rows
    1
    """

    features: np.ndarray | None = None
    arm_features: np.ndarray | None = None
    mask: np.ndarray | None = None
    replica: np.ndarray | None = None
    n_rows: int | None = None

    def __post_init__(self) -> None:
        # arrays already of the right type (a runner's own, one row per step) are kept as they are
        if self.features is not None and not _is_array_of(self.features, _FLOAT64):
            self.features = np.asarray(self.features, dtype=np.float64)
        if self.arm_features is not None:
            self.arm_features = np.asarray(self.arm_features, dtype=np.float64)
            if self.arm_features.ndim != 2:
                raise ValueError(f"arm_features must be 2-D (n_arms, d), got shape {self.arm_features.shape}")
        if self.mask is not None and not _is_array_of(self.mask, _BOOL):
            self.mask = np.asarray(self.mask, dtype=bool)
        if self.replica is not None and not _is_array_of(self.replica, _INT64):
            self.replica = np.asarray(self.replica)
            if self.replica.dtype.kind not in "iu":
                raise ValueError(f"replica must be an integer array, got dtype {self.replica.dtype}")
            self.replica = self.replica.astype(np.int64, copy=False)
        sizes = {}
        if self.features is not None:
            sizes["features"] = _rows_of("features", self.features, 2)
        if self.mask is not None:
            sizes["mask"] = _rows_of("mask", self.mask, 2)
        if self.replica is not None:
            sizes["replica"] = _rows_of("replica", self.replica, 1)
        if self.n_rows is not None:
            sizes["n_rows"] = int(self.n_rows)
        if len(sizes) > 1 and len(set(sizes.values())) > 1:
            raise ValueError(f"Context fields disagree on the number of rows: {sizes}")
        self.n_rows = next(iter(sizes.values())) if sizes else 1
        if self.n_rows < 1:
            raise ValueError(f"n_rows must be >= 1, got {self.n_rows}")


@dataclass
class Decision:
    """What an agent chose, with the probability of each choice (for off-policy logs).

    ``actions`` is int64 of shape (B,) for single items or (B, k) for a slate;
    ``propensities`` has the same shape and holds the probability the policy had of
    putting that item at that position (exact, or a Monte-Carlo estimate for Thompson
    sampling); ``probabilities`` (B, n_arms) is the full single-item distribution
    when it is available, else None.  For either, an agent may pass a zero-argument
    function instead: the array is then built on first access only (from the policy as it
    was when it acted), so runs that never read it do not pay for it.

    ``explanation`` is None unless the agent was asked for one (``agent.explain = True``): then,
    for agents that split their score, a dict of arrays shaped like ``actions``: ``exploit``
    (the part of the score the agent believes: an estimated mean), ``explore`` (the exploration
    part: UCB bonus, LinUCB α·width, Thompson posterior std), and for ε-greedy ``random``
    (True where the item was the uniform exploration pick).

    Examples
    --------
    >>> d = Decision(actions=np.array([1]), propensities=np.array([0.5]),
    ...              probabilities=lambda: np.array([[0.5, 0.5]]))
    >>> d.probabilities.tolist()
    [[0.5, 0.5]]
    >>> Decision(actions=np.array([0]), propensities=lambda: np.array([0.25])).propensities.tolist()
    [0.25]
    """

    actions: np.ndarray
    propensities: np.ndarray
    probabilities: np.ndarray | None = field(default=None)
    explanation: dict[str, np.ndarray] | None = field(default=None)

    @property
    def n_rows(self) -> int:
        """Number of decisions in the batch."""
        return int(self.actions.shape[0])

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        # pickles the arrays, never the functions
        state["_propensities"], state["_probabilities"] = self.propensities, self.probabilities
        return state


def _lazy_field(name: str, convert, doc: str) -> property:
    """A property over ``_<name>`` that calls a stored zero-argument function on first access."""
    key = "_" + name

    def get(self: Decision):
        value = self.__dict__.get(key)
        if callable(value):
            value = self.__dict__[key] = convert(value())
        return value

    def set_(self: Decision, value) -> None:
        self.__dict__[key] = value if callable(value) else convert(value)

    return property(get, set_, doc=doc)


# properties set after @dataclass, so the generated __init__ keeps its fields and defaults
Decision.propensities = _lazy_field(  # type: ignore[assignment]
    "propensities", lambda v: np.asarray(v, dtype=np.float64),
    "Probability of each chosen item (at its position), same shape as actions (built lazily).")
Decision.probabilities = _lazy_field(  # type: ignore[assignment]
    "probabilities", lambda v: v, "(B, n_arms) single-item distribution or None (built lazily).")


def decision_of(actions: np.ndarray, propensities, probabilities=None, explanation=None) -> Decision:
    """``Decision(actions, propensities, probabilities, explanation)`` without the dataclass and
    property machinery (``act``'s hot path, once per call): the same fields, the same object.

    >>> d = decision_of(np.array([1]), np.array([0.5]))
    >>> d == Decision(actions=np.array([1]), propensities=np.array([0.5]))
    True
    """
    d = object.__new__(Decision)
    if not callable(propensities):
        propensities = np.asarray(propensities, dtype=np.float64)
    d.__dict__.update(actions=actions, _propensities=propensities, _probabilities=probabilities,
                      explanation=explanation)
    return d


def checked_steps(step, n_rows: int) -> np.ndarray:
    """``step`` as (n_rows,) int64 decision steps, each >= 0; else one ``ValueError``.

    >>> checked_steps([3, 0], 2).tolist()
    [3, 0]
    >>> checked_steps([1.5], 1)
    Traceback (most recent call last):
    ...
    ValueError: feedback.step must be an integer array, got dtype float64
    """
    arr = np.asarray(step)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"feedback.step must be an integer array, got dtype {arr.dtype}")
    arr = arr.reshape(-1)
    if arr.shape != (n_rows,):
        raise ValueError(f"feedback.step must have shape ({n_rows},), got {np.shape(step)}")
    if arr.size and arr.min() < 0:
        bad = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"feedback.step must be >= 0, got {int(arr[bad])} in row {bad}")
    return arr.astype(np.int64, copy=False)


@dataclass
class Feedback:
    """The response to a Decision, one row per decision.

    ``reward`` (B,) float is already mapped through the reward map; ``kind`` (B,) int
    indexes the tuple of feedback kinds (see ``banditsim.feedback_kinds``); for slates
    ``position`` (B,) int says which slate position got the response (-1: none).
    ``step`` (B,) int, optional: the decision step of each row (when the answered item was
    shown, not when the answer arrived).  The forgetting agents age what they learned by it
    (``banditsim.agents._state.step_clock``); every other agent ignores it.  Without it a forgetting agent
    counts each update call as one step.

    Examples
    --------
    >>> Feedback(reward=[1.0, -0.5], kind=[5, 1]).reward.dtype
    dtype('float64')
    >>> Feedback(reward=[1.0, 0.0], step=[4, 2]).step.tolist()
    [4, 2]
    >>> Feedback(reward=[1.0], step=[-1])
    Traceback (most recent call last):
    ...
    ValueError: feedback.step must be >= 0, got -1 in row 0
    """

    reward: np.ndarray
    kind: np.ndarray | None = None
    position: np.ndarray | None = None
    step: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not (_is_array_of(self.reward, _FLOAT64) and self.reward.ndim == 1):
            self.reward = np.asarray(self.reward, dtype=np.float64).reshape(-1)
        if self.kind is not None:
            self.kind = np.asarray(self.kind).reshape(-1)
            if self.kind.dtype.kind not in "iu":
                raise ValueError(f"kind must be an integer array, got dtype {self.kind.dtype}")
            if self.kind.shape != self.reward.shape:
                raise ValueError(f"kind shape {self.kind.shape} != reward shape {self.reward.shape}")
        if self.position is not None:
            self.position = np.asarray(self.position).reshape(-1).astype(np.int64)
            if self.position.shape != self.reward.shape:
                raise ValueError(f"position shape {self.position.shape} != reward shape {self.reward.shape}")
        if self.step is not None:
            self.step = checked_steps(self.step, self.reward.shape[0])
