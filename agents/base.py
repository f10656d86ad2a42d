"""The agent protocol: ``act(context) -> Decision`` and ``update(context, decision, feedback)``.

Every agent is batched (B rows per call) and keeps ``n_replicas`` independent copies of its
state in the leading dimension of its arrays; ``Context.replica`` routes each row to a copy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from banditsim.agents._propensity.gaussian_win import GaussianWinProbability
from banditsim.agents._propensity.greedy import greedy_position_probability, greedy_probabilities
from banditsim.agents._propensity.monte_carlo import monte_carlo_propensities, pooled_propensities
from banditsim.agents._selection.ranking import top1_one_row, top_k
from banditsim.agents._selection.row_groups import row_groups
from banditsim.agents._state import one_row
from banditsim.agents._thompson.frozen_slots import decide_frozen
from banditsim.agents._thompson.sparse_slots import decide_from_winners, slot_winners, window
from banditsim.agents._validation import (
    MAX_ABS_FEATURE,
    MAX_ABS_REWARD,
    CheckedOnce,
    RandomState,
    check_finite_array,
    check_int,
    check_kind_values,
    check_random_state,
)
from banditsim.agents.feedback_kinds import KIND_VALUES
from banditsim.agents.types import Context, Decision, Feedback, decision_of

_POOL_CELLS = 1 << 22  # largest pool of scores (draws × replicas × arms) drawn at once for pooled propensities

__all__ = ["Agent", "Context", "Decision", "Feedback", "IndexAgent", "SamplingAgent"]


class Agent:
    """Base class of every bandit policy.

    Parameters
    ----------
    n_arms : int
        Number of items the agent chooses from.
    n_replicas : int
        Independent copies of the state (e.g. one per seed) selected by ``Context.replica``.
    slate_size : int
        Items per decision; each row gets ``slate_size`` distinct allowed items.
    random_state : int, np.random.Generator or None
        Seed of the agent's own random numbers: same seed, same actions.
    kind_values : sequence of float or None
        Reward value of each feedback kind (default ``agents.feedback_kinds.KIND_VALUES``).
    """

    name: ClassVar[str] = ""
    test_params: ClassVar[dict[str, Any]] = {}
    """Small constructor parameters used by the conformance test suite."""
    explain: bool = False
    """Set True to get ``Decision.explanation`` (the score split); off, nothing is computed."""

    def __init__(
        self,
        n_arms: int,
        *,
        n_replicas: int = 1,
        slate_size: int = 1,
        random_state: RandomState = None,
        kind_values: Sequence[float] | None = None,
    ) -> None:
        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.n_replicas = check_int("n_replicas", n_replicas, minimum=1)
        self.slate_size = check_int("slate_size", slate_size, minimum=1, maximum=self.n_arms)
        self.random_state = random_state
        self.kind_values = kind_values
        self._kind_values = check_kind_values(kind_values)
        if self._kind_values is None:
            self._kind_values = np.asarray(KIND_VALUES, dtype=np.float64)
        self._rng = check_random_state(random_state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_arms={self.n_arms}, n_replicas={self.n_replicas})"

    def reseed(self, random_state: RandomState) -> None:
        """Restart the agent's random stream (its learned state is kept)."""
        self._rng = check_random_state(random_state)

    # ------------------------------------------------------------------ protocol
    def act(self, context: Context | None = None) -> Decision:
        """Choose an item (or a slate) for every row of ``context``."""
        rows = self._resolve(context)
        items, propensities, probabilities = self._decide(rows)
        why = self._explain(rows, items) if self.explain else None
        if self.slate_size == 1:
            items = items[:, 0]
            propensities = (lambda p=propensities: p()[:, 0]) if callable(propensities) else propensities[:, 0]
            why = None if why is None else {k: v[:, 0] for k, v in why.items()}
        return decision_of(np.ascontiguousarray(items, dtype=np.int64), propensities, probabilities, why)

    def update(
        self,
        context: Context | None,
        decision: Decision | np.ndarray | Sequence[int],
        feedback: Feedback,
    ) -> None:
        """Learn from the feedback to a batch of decisions.

        ``decision`` is the Decision from ``act`` or its actions array.  For slates,
        ``feedback.position`` picks the item each row's response refers to (None means
        position 0; -1 means no item was chosen and the row is skipped).  Rewards must be
        finite with magnitude <= ``MAX_ABS_REWARD`` (1e6) and features finite with magnitude <=
        ``MAX_ABS_FEATURE`` (1e6); ``feedback.kind`` must index ``kind_values``.  Bad input raises
        ``ValueError`` naming the argument and the first bad row, before any state changes.
        """
        if context is None:
            n = feedback.reward.shape[0]  # n < 1: Context's own error
            context = Context(n_rows=n) if n < 1 else _checked_context(None, None, None, _zeros(n), n)
        rows = self._resolve(context, check_mask=False)
        actions = decision.actions if isinstance(decision, Decision) else np.asarray(decision)
        if actions.dtype.kind not in "iu":
            raise ValueError(f"actions must be integers, got dtype {actions.dtype}")
        if actions.shape[0] != rows.n_rows or actions.ndim not in (1, 2):
            raise ValueError(f"actions must have shape ({rows.n_rows},) or ({rows.n_rows}, k), got {actions.shape}")
        reward = feedback.reward
        if reward.shape != (rows.n_rows,):
            raise ValueError(f"feedback.reward must have shape ({rows.n_rows},), got {reward.shape}")
        check_finite_array("feedback.reward", reward, MAX_ABS_REWARD)
        kind = feedback.kind
        if kind is not None and kind.size and _out_of_range(kind, len(self._kind_values)):
            raise ValueError(f"feedback.kind must be in [0, {len(self._kind_values)}), got {kind.min()}..{kind.max()}")
        position = feedback.position
        keep = None
        if actions.ndim == 2:
            position = np.zeros(rows.n_rows, dtype=np.int64) if position is None else position
            if position.max(initial=-1) >= actions.shape[1]:
                raise ValueError(f"feedback.position must be < slate width {actions.shape[1]}")
            keep = position >= 0
            arms = actions[np.arange(rows.n_rows), np.where(keep, position, 0)]
        else:
            keep = None if position is None else position >= 0
            arms = actions
        arms = arms.astype(np.int64, copy=False)
        if arms.size and _out_of_range(arms, self.n_arms):
            raise ValueError(f"actions must be in [0, {self.n_arms}), got {arms.min()}..{arms.max()}")
        if keep is not None and not keep.all():
            idx = np.flatnonzero(keep)
            if idx.size == 0:
                return
            rows = _take_rows(rows, idx)
            arms, reward = arms[idx], reward[idx]
            kind = None if kind is None else kind[idx]
        self._learn(rows, arms, reward, kind)

    def act_one(self, features: np.ndarray | None = None, mask: np.ndarray | None = None, replica: int = 0):
        """Act for a single row; returns ``(action, propensity)`` (action is an array for slates)."""
        ctx = Context(
            features=None if features is None else np.asarray(features, dtype=np.float64)[None, :],
            mask=None if mask is None else np.asarray(mask, dtype=bool)[None, :],
            replica=np.array([replica]),
        )
        decision = self.act(ctx)
        return decision.actions[0], decision.propensities[0]

    def update_one(self, action, reward: float, kind: int | None = None, features=None, replica: int = 0,
                   position: int | None = None) -> None:
        """Update from a single row of feedback."""
        ctx = Context(
            features=None if features is None else np.asarray(features, dtype=np.float64)[None, :],
            replica=np.array([replica]),
        )
        fb = Feedback(
            reward=[reward],
            kind=None if kind is None else [kind],
            position=None if position is None else [position],
        )
        self.update(ctx, np.asarray(action, dtype=np.int64)[None, ...], fb)

    # ------------------------------------------------------------------ hooks
    def _decide(self, rows: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Return items (B, k), propensities (B, k) and optional probabilities (B, n_arms)."""
        raise NotImplementedError

    def _learn(self, rows: Context, arms: np.ndarray, reward: np.ndarray, kind: np.ndarray | None) -> None:
        """Update the state from one responded item per row (already validated)."""
        raise NotImplementedError

    def _explain(self, rows: Context, items: np.ndarray) -> dict[str, np.ndarray] | None:
        """The score split of the (B, k) ``items`` just chosen (only called when ``explain``):
        what ``_decide`` left in ``_why`` this act, or None for agents without one."""
        return self.__dict__.pop("_why", None)

    # ------------------------------------------------------------------ helpers
    def _resolve(self, context: Context | None, check_mask: bool = True) -> Context:
        if context is None:
            return _checked_context(None, None, None, _zeros(1), 1)
        ctx = context
        replica = ctx.replica
        if replica is None:
            replica = _zeros(ctx.n_rows)
        elif replica.size and _out_of_range(replica, self.n_replicas):
            raise ValueError(f"replica must be in [0, {self.n_replicas}), got {replica.min()}..{replica.max()}")
        mask = ctx.mask
        if mask is not None:
            if mask.shape != (ctx.n_rows, self.n_arms):
                raise ValueError(f"mask must have shape ({ctx.n_rows}, {self.n_arms}), got {mask.shape}")
            if mask.all():  # first: an all-True mask (the common case) needs no other check
                mask = None
            elif check_mask and _too_few_allowed(mask, self.slate_size):
                raise ValueError(f"mask allows fewer than slate_size={self.slate_size} items in some row")
            elif check_mask:  # acting: lazy propensities/probabilities read it later, and callers
                mask = mask.copy()  # (the world's observation) may change theirs in place meanwhile
        if ctx.arm_features is not None and ctx.arm_features.shape[0] != self.n_arms:
            raise ValueError(f"arm_features must have {self.n_arms} rows, got {ctx.arm_features.shape[0]}")
        # poison (NaN, ±inf, 1e300) is refused here, before act or update touches any state
        check_finite_array("context.features", ctx.features, MAX_ABS_FEATURE)
        # the same read-only item matrix comes with every call: checked once (CheckedOnce)
        if ctx.arm_features is not None:
            self.__dict__.setdefault("_arms_checked", CheckedOnce()).check(
                "context.arm_features", ctx.arm_features, MAX_ABS_FEATURE)
        return _checked_context(ctx.features, ctx.arm_features, mask, replica, ctx.n_rows)


def split_at(exploit: np.ndarray, explore: np.ndarray, items: np.ndarray) -> dict[str, np.ndarray]:
    """The (B, n_arms) score parts at the chosen (B, k) ``items``; an item never tried (infinite
    exploration term) has no estimate (exploit NaN).

    >>> split_at(np.array([[0.5, 0.0]]), np.array([[0.1, np.inf]]), np.array([[1, 0]]))
    {'exploit': array([[nan, 0.5]]), 'explore': array([[inf, 0.1]])}
    """
    rows = np.arange(items.shape[0])[:, None]
    explore = np.asarray(explore, dtype=np.float64)[rows, items]
    exploit = np.where(np.isinf(explore), np.nan, np.asarray(exploit, dtype=np.float64)[rows, items])
    return {"exploit": exploit, "explore": explore}


def _too_few_allowed(mask: np.ndarray, k: int) -> bool:
    """True when some row of a bool mask allows fewer than k items (any() is ~10× faster than sum)."""
    if k == 1:
        return not mask.any(axis=1).all()
    return bool((mask.view(np.uint8).sum(axis=1, dtype=np.int64) < k).any())


def _out_of_range(values: np.ndarray, n: int) -> bool:
    """True when some integer lies outside [0, n); for int64 one reduction (negatives read as huge unsigned),
    for a single value none."""
    if values.size == 1:
        return not 0 <= values.item() < n
    if values.dtype != np.int64:
        return bool(values.min() < 0 or values.max() >= n)
    return int(values.view(np.uint64).max()) >= n


_ZEROS: dict[int, np.ndarray] = {}


def _zeros(n_rows: int) -> np.ndarray:
    """Read-only int64 zeros (n_rows,): the replica of rows that name none (shared, never written)."""
    out = _ZEROS.get(n_rows)
    if out is None:
        out = np.zeros(n_rows, dtype=np.int64)
        out.setflags(write=False)
        if n_rows <= 1024:
            _ZEROS[n_rows] = out
    return out


def _checked_context(features, arm_features, mask, replica, n_rows) -> Context:
    """A Context from already-validated fields, skipping ``__post_init__`` (hot path)."""
    ctx = object.__new__(Context)
    ctx.__dict__.update(features=features, arm_features=arm_features, mask=mask, replica=replica, n_rows=n_rows)
    return ctx


def _take_rows(rows: Context, idx: np.ndarray) -> Context:
    return _checked_context(None if rows.features is None else rows.features[idx], rows.arm_features,
                            None if rows.mask is None else rows.mask[idx], rows.replica[idx], int(idx.size))


class IndexAgent(Agent):
    """A policy that ranks items by a deterministic index (ties broken uniformly at random)."""

    def _index(self, rows: Context) -> np.ndarray:
        """Scores (B, n_arms); higher is better."""
        raise NotImplementedError

    def _index_parts(self, rows: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``(exploit, explore, index)``, each (B, n_arms), for agents whose index is an estimate plus
        an exploration term (``index`` exactly as ``_index`` computes it); None otherwise."""
        return None

    def _decide(self, rows):
        parts = self._index_parts(rows) if self.explain else None
        scores = self._index(rows) if parts is None else parts[2]
        if rows.n_rows == 1 and self.slate_size == 1 and one_row.ENABLED:
            item, n_ties = top1_one_row(scores, rows.mask, self._rng)
            items, propensities = np.array([[item]]), np.array([[1.0 / n_ties]])
        else:
            items = top_k(scores, rows.mask, self.slate_size, self._rng)
            propensities = greedy_position_probability(scores, rows.mask, items)
        if parts is not None:
            self._why = split_at(parts[0], parts[1], items)
        mask = rows.mask
        probabilities = (lambda: greedy_probabilities(scores, mask)) if self.slate_size == 1 else None
        return items, propensities, probabilities


class SamplingAgent(Agent):
    """A Thompson-sampling policy: ranks items by one posterior draw of their scores.

    Propensities are Monte-Carlo estimates from ``n_propensity_draws`` further draws,
    (1 + hits) / (1 + n_propensity_draws), which always lies in (0, 1], or exact
    (quadrature) probabilities where the scores are independent Gaussians per arm.
    The paths, picked by the hooks a subclass implements:

    * ``_frozen_replica_draws`` (context-free posteriors): every row of a replica shares one
      posterior, so each replica draws N = max(rows of the replica, n_propensity_draws + 1)
      "slots" (full draws) that all its rows share — row b acts on its own slot and its
      propensity is estimated from the next n_propensity_draws slots.  Single items use
      only each slot's (masked) winner (``_decide_dense``; the propensity slots are drawn
      when first read), or, when ``_exceedance``
      offers a lazy sampler and the act is big, draw only the arms that can win a slot
      (``_decide_lazy``: same distribution, O(Σ tails) instead of O(n_arms) per slot).
      Slates rank the pool (``pooled_propensities``).
    * ``_independent_gaussian`` (disjoint linear / logistic models, single items): the
      action is one fresh draw per row and the propensity is the Gauss–Hermite integral
      of ``GaussianWinProbability`` (no random numbers).
    * otherwise ``_sampler``: fresh (n_draws, B, n_arms) draws (``monte_carlo_propensities``).
    """

    def __init__(self, n_arms: int, *, n_propensity_draws: int = 256, **kwargs) -> None:
        super().__init__(n_arms, **kwargs)
        self.n_propensity_draws = check_int("n_propensity_draws", n_propensity_draws, minimum=1)

    def _sampler(self, rows: Context) -> Callable[[int], np.ndarray]:
        """A function n -> (n, B, n_arms) of independent posterior score draws."""
        raise NotImplementedError

    def _frozen_replica_draws(self, replicas: np.ndarray) -> Callable[[int, np.random.Generator], np.ndarray] | None:
        """``(n, rng) -> (n, len(replicas), n_arms)`` independent score draws from the replicas'
        posterior as it is now (later updates do not change them), or None (contextual agents).
        Context-free agents implement this one hook; it also lets propensities be drawn on read."""
        return None

    def _has_replica_draws(self) -> bool:
        return type(self)._frozen_replica_draws is not SamplingAgent._frozen_replica_draws

    def _replica_draws(self, replicas: np.ndarray, n: int) -> np.ndarray:
        """(n, len(replicas), n_arms) draws from the agent's own random stream."""
        return self._frozen_replica_draws(replicas)(n, self._rng)

    def _propensity_rng(self) -> np.random.Generator:
        """The random stream of propensities drawn on read: a child of the agent's stream, so
        reading them (or not) never changes the actions."""
        if getattr(self, "_prop_rng", None) is None:
            self._prop_rng = self._rng.spawn(1)[0]
        return self._prop_rng

    def reseed(self, random_state: RandomState) -> None:
        super().reseed(random_state)
        self._prop_rng = None

    def _independent_gaussian(self, rows: Context) -> tuple[np.ndarray, np.ndarray] | None:
        """(mean, std), each (B, n_arms), when scores are independent Gaussians per arm; else None."""
        return None

    def _exceedance(self, n_slots: int) -> Any | None:
        """A lazy exact sampler (``agents._thompson.beta_exceedance``) worth using for ``n_slots`` slots, or None."""
        return None

    def _posterior_at(self, replica: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Posterior mean and std of the score of ``items`` (B, k) for each row's replica, or None."""
        return None

    def _explain(self, rows, items):
        why = super()._explain(rows, items)
        if why is None:
            parts = self._posterior_at(rows.replica, items)
            why = None if parts is None else {"exploit": parts[0], "explore": parts[1]}
        return why

    def _decide(self, rows):
        if self.slate_size == 1 and self._has_replica_draws():
            groups = _slot_layout(rows.replica, self.n_propensity_draws + 1)
            # the lazy sampler completes a slot whenever none of its exceeding arms is allowed:
            # worth it only when masks leave most arms allowed
            lazy = self._exceedance(groups[0].size * groups[3])
            if lazy is not None and (rows.mask is None or rows.mask.mean() >= 0.5):
                return self._decide_lazy(lazy, rows, groups)
            if rows.mask is None or rows.n_rows * (self.n_propensity_draws + 1) * self.n_arms <= 1 << 22:
                return self._decide_dense(rows, groups)
        # pooling pays only when some replica serves several rows (one row per replica, as in
        # seed-batched benchmarks, gains nothing and pays the ranking overhead)
        # a pool of (draws, replicas, n_arms) scores: O(draws × arms) memory, so big catalogs take
        # the per-row path below instead (its Monte-Carlo draws come in bounded chunks)
        if self._has_replica_draws() and rows.n_rows > 1:
            replicas = row_groups(rows.replica)[0]
            pool_cells = max(rows.n_rows, self.n_propensity_draws + 1) * replicas.size * self.n_arms
            if replicas.size < rows.n_rows and pool_cells <= _POOL_CELLS:
                return self._decide_pooled(rows)
        if self.slate_size == 1:
            gauss = self._independent_gaussian(rows)
            if gauss is not None and np.all(gauss[1] > 0):
                mean, std = gauss
                scores = mean + std * self._rng.standard_normal(mean.shape)
                items = top_k(scores, rows.mask, 1, self._rng)
                if self.explain:  # the posterior mean of the chosen score and its std
                    self._why = split_at(mean, std, items)
                win = self.__dict__.setdefault("_win_probability", GaussianWinProbability())
                return items, win(mean, std, items[:, 0], rows.mask)[:, None], None
        draw = self._sampler(rows)
        scores = draw(1)[0]
        items = top_k(scores, rows.mask, self.slate_size, self._rng)
        propensities, probabilities = monte_carlo_propensities(
            draw, items, rows.mask, self.n_propensity_draws, self.n_arms
        )
        return items, propensities, probabilities

    def _decide_dense(self, rows, groups):
        """Single items from full draws: every replica has n slots (see ``_slot_layout``); row b
        acts on the winner of its slot and estimates its propensity from the winners of the next
        n_propensity_draws slots, drawn when first read (``agents._thompson.frozen_slots``)."""
        return decide_frozen(self._frozen_replica_draws(groups[0]), self._rng, self._propensity_rng, groups,
                             rows.mask, self.n_arms, self.n_propensity_draws + 1)

    def _decide_lazy(self, lazy, rows, groups):
        """``_decide_dense`` with the slots drawn lazily: only the arms of a slot that can
        win get a value (``agents._thompson.beta_exceedance``); the result has the same distribution."""
        replicas, group, slot, n = groups
        width = self.n_propensity_draws + 1
        g, s, arm, value, complete = lazy.draw(replicas, n, self._rng)
        key = g * n + s
        winner = slot_winners(replicas.size * n, key, arm, value, window(group, slot, n, width), rows.mask, complete)
        return decide_from_winners(winner, self.n_arms)

    def _decide_pooled(self, rows):
        replicas, group = np.unique(rows.replica, return_inverse=True)
        group = group.reshape(-1)
        counts = np.bincount(group)
        order = np.argsort(group, kind="stable")
        slot = np.empty(rows.n_rows, dtype=np.int64)
        slot[order] = np.arange(rows.n_rows) - np.repeat(np.cumsum(counts) - counts, counts)
        pool = self._replica_draws(replicas, max(int(counts.max()), self.n_propensity_draws + 1))
        if np.isnan(pool).any():
            raise FloatingPointError("agent produced NaN scores")
        items = top_k(pool[slot, group], rows.mask, self.slate_size, self._rng)
        propensities, probabilities = pooled_propensities(
            pool, group, slot, items, rows.mask, self.n_propensity_draws
        )
        return items, propensities, probabilities


def _slot_layout(replica: np.ndarray, width: int):
    """``(replicas, group, slot, n)``: the distinct replicas, each row's index into them, its
    slot among its replica's rows, and the slots drawn per replica, max(rows, width)."""
    replicas, group = row_groups(replica)
    if replicas.size == replica.size:
        return replicas, group, np.zeros(replica.size, dtype=np.int64), width
    counts = np.bincount(group)
    order = np.argsort(group, kind="stable")
    slot = np.empty(replica.size, dtype=np.int64)
    slot[order] = np.arange(replica.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return replicas, group, slot, max(int(counts.max()), width)
