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
from banditsim.agents._propensity.monte_carlo import monte_carlo_propensities
from banditsim.agents._selection.ranking import top1_one_row, top_k
from banditsim.agents._selection.rows import (
    checked_context,
    out_of_range,
    take_rows,
    too_few_allowed,
    zero_replicas,
)
from banditsim.agents._state import one_row
from banditsim.agents._thompson.frozen_slots import decide_frozen
from banditsim.agents._thompson.pooled import decide_pooled
from banditsim.agents._thompson.slots import slot_layout
from banditsim.agents._thompson.sparse_slots import decide_sparse
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
from banditsim.agents.types import Context, Decision, Feedback, decision_of
from banditsim.feedback_kinds import DEFAULT_REWARDS

_INT64 = np.dtype(np.int64)
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
        Reward value of each feedback kind (default ``banditsim.feedback_kinds.DEFAULT_REWARDS``).
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
            self._kind_values = np.asarray(DEFAULT_REWARDS, dtype=np.float64)
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
            n = feedback.reward.shape[0]
            if n < 1:
                Context(n_rows=n)  # raises Context's own error
            rows = checked_context(None, None, None, zero_replicas(n), n)
        else:
            rows = self._resolve(context, check_mask=False)
        actions = decision.actions if isinstance(decision, Decision) else np.asarray(decision)
        if actions.dtype.kind not in "iu":
            raise ValueError(f"actions must be integers, got dtype {actions.dtype}")
        n = rows.n_rows
        if actions.shape[0] != n or actions.ndim not in (1, 2):
            raise ValueError(f"actions must have shape ({n},) or ({n}, k), got {actions.shape}")
        reward = feedback.reward
        if reward.shape != (n,):
            raise ValueError(f"feedback.reward must have shape ({n},), got {reward.shape}")
        check_finite_array("feedback.reward", reward, MAX_ABS_REWARD)
        kind = feedback.kind
        if kind is not None and kind.size and out_of_range(kind, len(self._kind_values)):
            raise ValueError(f"feedback.kind must be in [0, {len(self._kind_values)}), got {kind.min()}..{kind.max()}")
        position = feedback.position
        keep = None
        if actions.ndim == 2:
            position = np.zeros(n, dtype=np.int64) if position is None else position
            if position.max(initial=-1) >= actions.shape[1]:
                raise ValueError(f"feedback.position must be < slate width {actions.shape[1]}")
            keep = position >= 0
            arms = actions[np.arange(n), np.where(keep, position, 0)]
        else:
            keep = None if position is None else position >= 0
            arms = actions
        if arms.dtype is not _INT64:
            arms = arms.astype(np.int64)
        if arms.size and out_of_range(arms, self.n_arms):
            raise ValueError(f"actions must be in [0, {self.n_arms}), got {arms.min()}..{arms.max()}")
        if keep is not None and not keep.all():
            idx = np.flatnonzero(keep)
            if idx.size == 0:
                return
            rows = take_rows(rows, idx)
            arms, reward = arms[idx], reward[idx]
            kind = None if kind is None else kind[idx]
        self._learn(rows, arms, reward, kind)

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
            return checked_context(None, None, None, zero_replicas(1), 1)
        n_rows, features, arm_features, mask, replica = (
            context.n_rows, context.features, context.arm_features, context.mask, context.replica)
        if replica is None:
            replica = zero_replicas(n_rows)
        elif replica.size and out_of_range(replica, self.n_replicas):
            raise ValueError(f"replica must be in [0, {self.n_replicas}), got {replica.min()}..{replica.max()}")
        if mask is not None:
            if mask.shape != (n_rows, self.n_arms):
                raise ValueError(f"mask must have shape ({n_rows}, {self.n_arms}), got {mask.shape}")
            if mask.all():  # first: an all-True mask (the common case) needs no other check
                mask = None
            elif check_mask and too_few_allowed(mask, self.slate_size):
                raise ValueError(f"mask allows fewer than slate_size={self.slate_size} items in some row")
            elif check_mask:  # acting: lazy propensities/probabilities read it later, and callers
                mask = mask.copy()  # (the world's observation) may change theirs in place meanwhile
        if arm_features is not None and arm_features.shape[0] != self.n_arms:
            raise ValueError(f"arm_features must have {self.n_arms} rows, got {arm_features.shape[0]}")
        # poison (NaN, ±inf, 1e300) is refused here, before act or update touches any state
        if features is not None:
            check_finite_array("context.features", features, MAX_ABS_FEATURE)
        # the same read-only item matrix comes with every call: checked once (CheckedOnce)
        if arm_features is not None:
            self.__dict__.setdefault("_arms_checked", CheckedOnce()).check(
                "context.arm_features", arm_features, MAX_ABS_FEATURE)
        return checked_context(features, arm_features, mask, replica, n_rows)


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


class IndexAgent(Agent):
    """A policy that ranks items by a deterministic index (ties broken uniformly at random).

    The hook: ``_index_parts(rows)``, the index and its split into an estimate and an exploration term.
    """

    def _index_parts(self, rows: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(exploit, explore, index)``, each (B, n_arms); higher index is better."""
        raise NotImplementedError

    def _index(self, rows: Context) -> np.ndarray:
        """The index alone (B, n_arms)."""
        return self._index_parts(rows)[2]

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

    **The sampling hook.**  A subclass implements one of

    * ``_posterior_draws(replica, mask)``, for context-free posteriors (one per replica):
      ``(n, rng) -> (n, len(replica), n_arms)`` independent score draws for rows of those
      replicas, from the posterior as it is now (later updates must not reach them, so
      propensities can be drawn when first read).  Arms that ``mask`` leaves out are never
      shown and may be drawn from anything cheaper.  ``_sampler`` is derived from it;
    * ``_sampler(rows)``, for contextual posteriors (scores depend on each row's features):
      ``n -> (n, B, n_arms)`` independent draws from the agent's own random stream.

    Everything else is this class's job.  Propensities are Monte-Carlo estimates from
    ``n_propensity_draws`` further draws, (1 + hits) / (1 + n_propensity_draws), which always
    lies in (0, 1], or exact (quadrature) probabilities where the scores are independent Gaussians:

    * context-free single items: the rows of a replica share N = max(its rows,
      n_propensity_draws + 1) slots (full draws, ``banditsim.agents._thompson.slots``); row b acts on its own
      slot and estimates its propensity from the next n_propensity_draws, drawn when first read
      (``_thompson.frozen_slots``).  Big acts whose ``_exceedance`` offers a lazy exact sampler
      draw only the arms that can win a slot (``_thompson.sparse_slots``: same distribution);
    * context-free slates, or big masked single items, where a replica serves several rows: one
      pool of slots ranked row by row (``_thompson.pooled``);
    * ``_independent_gaussian`` (scores independent Gaussians per arm, single items): one fresh
      draw per row, the propensity by ``GaussianWinProbability`` (no random numbers);
    * otherwise fresh (n_propensity_draws, B, n_arms) draws (``monte_carlo_propensities``).

    Optional hooks: ``_independent_gaussian``, ``_exceedance``, ``_posterior_at`` (explanations).
    Agents that take some acts themselves say why in their ``_decide``: ``beta_ts`` (exact Beta
    quadrature when replicas serve few rows), the linear Thompson agents (shared-mode draws
    through Cholesky factors), ``neural_linear_ts`` (draws of its last layer).
    """

    lazy_min_work: ClassVar[int] = 100_000
    """Single-item acts drawing at least this many slots × arms use the lazy exact sampler that
    ``_exceedance`` offers: its fixed cost per call pays only for many draws (one replica
    serving 64 users over 1,682 items), not for 100 seeds × 2 slots × 100 arms."""

    def __init__(self, n_arms: int, *, n_propensity_draws: int = 256, **kwargs) -> None:
        super().__init__(n_arms, **kwargs)
        self.n_propensity_draws = check_int("n_propensity_draws", n_propensity_draws, minimum=1)

    def _posterior_draws(self, replica: np.ndarray,
                         mask: np.ndarray | None) -> Callable[[int, np.random.Generator], np.ndarray]:
        """The sampling hook of context-free agents (class docstring)."""
        raise NotImplementedError

    def _sampler(self, rows: Context) -> Callable[[int], np.ndarray]:
        """A function n -> (n, B, n_arms) of independent posterior score draws from the agent's stream."""
        draw = self._posterior_draws(rows.replica, rows.mask)
        return lambda n: draw(n, self._rng)

    def _context_free(self) -> bool:
        return type(self)._posterior_draws is not SamplingAgent._posterior_draws

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

    def _exceedance(self) -> Any | None:
        """The agent's lazy exact sampler (``banditsim.agents._thompson.beta_exceedance``,
        ``dirichlet_exceedance``), or None."""
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
        width = self.n_propensity_draws + 1
        layout = slot_layout(rows.replica, width) if self._context_free() else None
        if layout is not None and self.slate_size == 1:
            # the lazy sampler completes a slot whenever none of its exceeding arms is allowed:
            # worth it only when masks leave most arms allowed
            big = layout[0].size * layout[3] * self.n_arms >= self.lazy_min_work
            lazy = self._exceedance() if big else None
            if lazy is not None and (rows.mask is None or rows.mask.mean() >= 0.5):
                return decide_sparse(lazy, self._rng, layout, rows.mask, self.n_arms, width)
            if rows.mask is None or rows.n_rows * width * self.n_arms <= 1 << 22:
                return decide_frozen(self._posterior_draws(layout[0], None), self._rng, self._propensity_rng,
                                     layout, rows.mask, self.n_arms, width)
        # pooling pays only when some replica serves several rows; a pool holds draws × replicas ×
        # arms scores, so big catalogs take the per-row path below (its draws come in bounded chunks)
        if layout is not None and layout[0].size < rows.n_rows:
            if max(rows.n_rows, width) * layout[0].size * self.n_arms <= _POOL_CELLS:
                return decide_pooled(self._posterior_draws(layout[0], None), self._rng, layout, rows.mask,
                                     self.slate_size, self.n_propensity_draws)
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
