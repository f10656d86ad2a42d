"""Delayed and batched feedback in one cell: when each answer reaches the agent, and what it learns when.

Each step the world answers every decision. :class:`FeedbackSchedule` draws each answer's delay
(``feedback_delay`` config, per feedback kind; :class:`DelaySampler`), holds the answer until
its arrival step, and hands the agent the answers that have arrived: every step, or with
``run.update_every: N`` in ONE update call every N steps (after the steps t with
(t + 1) % N == 0) over all answers buffered since the last one, in arrival order (within an
arrival step: by decision step, then row). One call over those rows is what N calls with the
rows of each arrival step would do, bit for bit for the counting agents (tested).

What an agent gets for a delayed answer is the row of its decision step: the user's features,
the item matrix, the replica, the actions and the feedback (reward, kind, slate position), as an
``banditsim.agents.Feedback`` whose ``step`` is each row's decision step, so the
forgetting agents age answers by elapsed decision time, not by update calls (every update,
delayed, batched or not, carries it).
The decision's mask is not kept (it only constrains acting; no agent's update reads it, which
``tests/sim/test_feedback_delay.py`` checks for every registered agent).

Answers whose arrival falls after the horizon never reach the agent: they are counted
(``feedback_in_flight`` at the last step) and logged with ``arrival_step = -1``; answers that
arrived but wait for the next scheduled update when the run ends are ``feedback_buffered``.
With no delay and ``update_every: 1`` the agent gets exactly the update call of an undelayed
loop (the same context and decision, the same feedback arrays plus ``step``), so such runs are
bit-identical to a loop that calls ``update`` directly after each step.

Delays come from their own random stream (:func:`delay_seed`: one per seed index, the same for
every agent), one uniform per answer turned into a delay by its kind's quantile function: the
world's and the agents' random numbers are untouched, and two delay settings give the same
answer the same quantile (common random numbers across delay settings too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from banditsim.sim.config.delay import KIND_NAMES, DelaySpec, FeedbackDelaySection

DELAY_STREAM = 0x64656C6179  # b"delay": the delay stream's entropy word, beside the root seed


def delay_seed(root_seed: int, seed_index: int) -> np.random.SeedSequence:
    """Seed sequence of the delays of seed index ``seed_index`` (independent of the world's and agents').

    >>> a = delay_seed(0, 0).generate_state(1)[0]; b = delay_seed(0, 1).generate_state(1)[0]
    >>> bool(a != b)
    True
    """
    return np.random.SeedSequence([root_seed, DELAY_STREAM], spawn_key=(seed_index,))


def delay_quantile(spec: DelaySpec, u: np.ndarray) -> np.ndarray:
    """Delays in steps (float, whole numbers) at probabilities ``u`` in (0, 1) of ``spec``.

    The quantile functions of ``scipy.stats.geom`` (shifted to 0, 1, 2, ...) and
    ``scipy.stats.lognorm`` (then rounded), written out: scipy's per-call overhead would be paid
    every step (``tests/sim/test_feedback_delay.py`` checks them equal to scipy's).

    >>> delay_quantile(DelaySpec(dist="geometric", mean=1.0), np.array([0.4, 0.6, 0.8])).tolist()
    [0.0, 1.0, 2.0]
    >>> delay_quantile(DelaySpec(dist="lognormal", median=20, sigma=1.0), np.array([0.5])).tolist()
    [20.0]
    """
    from scipy.special import ndtri

    if spec.dist == "fixed":
        return np.full(u.shape, float(spec.steps))
    if spec.dist == "geometric":  # smallest k >= 0 with P(d <= k) = 1 - (1 - p)^(k + 1) >= u
        if spec.mean == 0:
            return np.zeros(u.shape)
        p = 1.0 / (1.0 + spec.mean)
        return np.maximum(np.ceil(np.log1p(-u) / np.log1p(-p)) - 1.0, 0.0)
    return np.rint(spec.median * np.exp(spec.sigma * ndtri(u)))


class DelaySampler:
    """Draws each answer's delay from its kind's distribution, from its own random stream.

    ``cap``: delays are clipped to it (a delay of ``cap`` or more never arrives in the run).

    Examples
    --------
    >>> s = DelaySampler(FeedbackDelaySection.model_validate({"click": {"dist": "fixed", "steps": 3}}),
    ...                  delay_seed(0, 0), cap=100)
    >>> s.draw(np.array([4, 3, 4])).tolist()
    [3, 0, 3]
    """

    def __init__(self, section: FeedbackDelaySection, seed, cap: int) -> None:
        self._rng = np.random.default_rng(seed)
        self.cap = int(cap)
        groups: dict[str, tuple[DelaySpec, list[int]]] = {}
        for code, kind in enumerate(KIND_NAMES):
            spec = section.spec_for(kind)
            groups.setdefault(spec.model_dump_json(), (spec, []))[1].append(code)
        self._groups = [spec for spec, _ in groups.values()]
        self._group_of = np.zeros(len(KIND_NAMES), dtype=np.int64)  # kind code -> its spec's group
        for g, (_, codes) in enumerate(groups.values()):
            self._group_of[codes] = g

    def draw(self, kind: np.ndarray) -> np.ndarray:
        """Delay (int64 steps, in [0, cap]) of each answer of feedback kind codes ``kind``."""
        u = np.clip(self._rng.random(kind.shape[0]), 2.0 ** -60, None)  # one uniform per answer, in (0, 1)
        out = np.zeros(kind.shape[0])
        if len(self._groups) == 1:
            return np.minimum(delay_quantile(self._groups[0], u), self.cap).astype(np.int64)
        group = self._group_of[kind]
        for g, spec in enumerate(self._groups):
            rows = group == g
            out[rows] = delay_quantile(spec, u[rows])
        return np.minimum(out, self.cap).astype(np.int64)


@dataclass
class _Rows:
    """Copied rows of one decision step, ordered by arrival; ``ends[a]`` slices those arriving at a."""

    features: np.ndarray | None
    arm_features: np.ndarray | None
    replica: np.ndarray | None
    actions: np.ndarray
    reward: np.ndarray
    kind: np.ndarray | None
    position: np.ndarray | None
    step: np.ndarray


def _take(x: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
    return None if x is None else x[idx]


def _cat(parts: list) -> np.ndarray | None:
    if parts[0] is None:
        return None
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class FeedbackSchedule:
    """The answers of one cell on their way to the agent (see the module docstring).

    Parameters
    ----------
    horizon : int
        Steps of the run; an answer arriving at step ``horizon`` or later never arrives.
    update_every : int
        Update the agent after every ``update_every``-th step only, with everything buffered.
    sampler : DelaySampler, a function kind codes -> delays, or None
        None: every answer arrives at once (delay 0).
    """

    def __init__(self, horizon: int, update_every: int = 1, sampler=None) -> None:
        if int(update_every) < 1:
            raise ValueError(f"update_every must be >= 1, got {update_every}")
        self.horizon, self.update_every = int(horizon), int(update_every)
        self._draw = sampler.draw if isinstance(sampler, DelaySampler) else sampler
        self._due: dict[int, list[tuple[_Rows, int, int]]] = {}
        self._buffer: list[tuple[_Rows, int, int]] = []
        self.in_flight = 0  # answers decided that have not arrived yet
        self.buffered = 0   # answers arrived that wait for the next scheduled update

    @classmethod
    def from_config(cls, cfg, seed_index: int) -> FeedbackSchedule:
        """The schedule of run config ``cfg`` for seed index ``seed_index``."""
        section, horizon = cfg.feedback_delay, cfg.run.horizon
        sampler = None if section.is_zero() else DelaySampler(
            section, delay_seed(cfg.run.root_seed, seed_index), cap=horizon)
        return cls(horizon, cfg.run.update_every, sampler)

    @property
    def immediate(self) -> bool:
        """True when every answer reaches the agent in its own step (as in an undelayed loop)."""
        return self._draw is None and self.update_every == 1

    def counts(self) -> dict[str, int]:
        """The per-step metric columns: answers in flight and answers buffered, after this step."""
        return {"feedback_in_flight": self.in_flight, "feedback_buffered": self.buffered}

    def step(self, t: int, context, decision, feedback):
        """Record step ``t``'s answers; returns ``(arrival, update)``.

        ``arrival`` (n_rows,) int64 is each answer's arrival step (-1: after the horizon);
        ``update`` is ``(context, decision or actions, feedback)`` to pass to ``agent.update``
        now, or None when nothing is due.
        """
        n = context.n_rows
        if self.immediate:
            return np.full(n, t, dtype=np.int64), (context, decision, _timed(feedback, np.full(n, t, dtype=np.int64)))
        actions = decision.actions if hasattr(decision, "actions") else np.asarray(decision)
        if self._draw is None:
            delay = np.zeros(n, dtype=np.int64)
        else:
            if feedback.kind is None:
                raise ValueError("delayed feedback needs feedback.kind (delays are drawn per kind)")
            delay = np.asarray(self._draw(feedback.kind), dtype=np.int64)
            if delay.shape != (n,) or (delay < 0).any():
                raise ValueError(f"delays must be {n} non-negative integers")
        arrival = t + delay
        self._hold(t, arrival, context, actions, feedback)
        self.in_flight += n
        arrived = self._due.pop(t, [])
        n_arrived = sum(hi - lo for _, lo, hi in arrived)
        self.in_flight -= n_arrived
        self.buffered += n_arrived
        self._buffer.extend(arrived)
        update = None
        if (t + 1) % self.update_every == 0 and self._buffer:
            update = self._batch(self._buffer)
            self._buffer, self.buffered = [], 0
        return np.where(arrival < self.horizon, arrival, -1), update

    def _hold(self, t: int, arrival: np.ndarray, context, actions, feedback) -> None:
        """Copy the rows arriving within the horizon, grouped by arrival step (rows in order)."""
        order = np.argsort(arrival, kind="stable")
        order = order[arrival[order] < self.horizon]
        if order.size == 0:
            return
        rows = _Rows(_take(context.features, order), context.arm_features, _take(context.replica, order),
                     actions[order], feedback.reward[order], _take(feedback.kind, order),
                     _take(feedback.position, order), np.full(order.size, t, dtype=np.int64))
        when = arrival[order]
        starts = np.flatnonzero(np.r_[True, when[1:] != when[:-1]])
        ends = np.r_[starts[1:], when.size]
        for a, lo, hi in zip(when[starts].tolist(), starts.tolist(), ends.tolist()):
            self._due.setdefault(a, []).append((rows, lo, hi))

    @staticmethod
    def _batch(pieces: list[tuple[_Rows, int, int]]):
        """One (Context, actions, Feedback with ``step``) of all pieces' rows, in order."""
        from banditsim.agents.types import Context, Feedback

        arm = pieces[0][0].arm_features
        if any(p.arm_features is not arm for p, _, _ in pieces):
            raise ValueError("buffered answers come from contexts with different arm_features arrays")

        def cat(name):
            return _cat([None if getattr(p, name) is None else getattr(p, name)[lo:hi] for p, lo, hi in pieces])

        ctx = Context(features=cat("features"), arm_features=arm, replica=cat("replica"),
                      n_rows=sum(hi - lo for _, lo, hi in pieces))
        return ctx, cat("actions"), Feedback(reward=cat("reward"), kind=cat("kind"), position=cat("position"),
                                             step=cat("step"))


def _timed(feedback, step: np.ndarray):
    """``feedback``'s arrays with each row's decision step (``Feedback.step``)."""
    from banditsim.agents.types import Feedback

    return Feedback(reward=feedback.reward, kind=feedback.kind, position=feedback.position, step=step)


def log_arrival_columns(t: int, arrival: np.ndarray, n_log_rows: int) -> dict[str, np.ndarray]:
    """``decision_step`` and ``arrival_step`` (-1: after the horizon) of step ``t``'s log rows
    (each decision's value repeated over its slate positions).

    >>> {k: v.tolist() for k, v in log_arrival_columns(3, np.array([5, -1]), 4).items()}
    {'decision_step': [3, 3, 3, 3], 'arrival_step': [5, 5, -1, -1]}
    """
    return {"decision_step": np.full(n_log_rows, t, dtype=np.int32),
            "arrival_step": np.repeat(arrival, n_log_rows // arrival.size).astype(np.int32)}
