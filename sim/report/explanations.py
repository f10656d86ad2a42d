"""Cheap "why" columns for the interaction log.

Two explanations per logged recommendation:

* the agent's score split (``Decision.explanation``, asked for with ``agent.explain = True``):
  ``why_exploit`` (the estimate the agent believes), ``why_explore`` (its exploration term) and
  ``why_random`` (ε-greedy's random pick: 1, greedy: 0, other agents: -1);
* the user's most similar previously-liked item: ``because_action`` (catalog index of the liked
  item, -1 when the user has liked nothing yet in this row) and ``because_cosine`` (cosine of the
  two items' embeddings). "Liked" is any positive feedback kind; the recommended item itself is
  never its own reason.

:class:`LikedItems` keeps, per user row of the batched world, that row's last ``k`` liked item
indices in one (B, k) array (forgotten when another person takes the row), so tracking and the
cosine are a few vectorised operations per step.
"""

from __future__ import annotations

import numpy as np

WHY_COLUMNS = ("why_exploit", "why_explore", "why_random", "because_action", "because_cosine")


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32.

    >>> unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    v = np.asarray(vectors, dtype=np.float32)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)


class LikedItems:
    """Each user row's last ``k`` liked items (a ring buffer per row), and the nearest one to a
    recommendation by embedding cosine.

    Examples
    --------
    >>> emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6]])
    >>> liked = LikedItems(emb, n_rows=2, k=2)
    >>> liked.observe(np.array([7, 8]), np.array([0, 1]), np.array([True, False]))
    >>> item, cos = liked.nearest(np.array([7, 8]), np.array([[2], [2]]))
    >>> item.tolist(), cos.round(2).tolist()
    ([[0], [-1]], [[0.8], [nan]])
    """

    def __init__(self, item_vectors: np.ndarray, n_rows: int, k: int = 8):
        self.unit = unit_rows(item_vectors)
        self.items = np.full((n_rows, k), -1, dtype=np.int64)
        self.owner = np.full(n_rows, -1, dtype=np.int64)  # the person each row's history belongs to
        self._next = np.zeros(n_rows, dtype=np.int64)
        # the unit vectors of ``items`` (zeros where -1), kept in step with it: a step copies the
        # vectors of the newly liked items only, not (B, k, d) of them
        self._vectors = np.zeros((n_rows, k, self.unit.shape[1]), dtype=self.unit.dtype)

    def _follow(self, user_ids: np.ndarray) -> None:
        """Forget the history of rows that another person has taken."""
        moved = self.owner != user_ids
        if moved.any():
            self.items[moved] = -1
            self._vectors[moved] = 0.0
            self._next[moved] = 0
            self.owner[moved] = user_ids[moved]

    def nearest(self, user_ids: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For (B, s) recommended ``actions``: the most similar previously-liked item of each row
        (-1: none) and its cosine (NaN: none), each (B, s)."""
        self._follow(np.asarray(user_ids, dtype=np.int64))
        held = self.items >= 0  # (B, k)
        if not held.any():
            return np.full(actions.shape, -1, dtype=np.int64), np.full(actions.shape, np.nan)
        cos = np.matmul(self.unit[actions], self._vectors.transpose(0, 2, 1)).astype(np.float64)  # (B, s, k)
        usable = held[:, None, :] & (self.items[:, None, :] != actions[:, :, None])
        cos = np.where(usable, cos, -np.inf)
        best = cos.argmax(axis=2)
        top = np.take_along_axis(cos, best[:, :, None], axis=2)[:, :, 0]
        found = np.isfinite(top)
        item = np.where(found, np.take_along_axis(self.items, best, axis=1), -1)
        return item, np.where(found, top, np.nan)

    def observe(self, user_ids: np.ndarray, liked_item: np.ndarray, positive: np.ndarray) -> None:
        """Record ``liked_item`` (B,) for the rows where ``positive`` (B,) holds."""
        self._follow(np.asarray(user_ids, dtype=np.int64))
        rows = np.flatnonzero(np.asarray(positive, dtype=bool) & (liked_item >= 0))
        if rows.size:
            slot = self._next[rows] % self.items.shape[1]
            self.items[rows, slot] = liked_item[rows]
            self._vectors[rows, slot] = self.unit[liked_item[rows]]
            self._next[rows] += 1


class Explainer:
    """The "why" columns of a cell's logged steps: switches the agent's explanation on, follows
    each row's liked items, and switches it off again when the log is full (:meth:`stop`).

    ``positive`` (n_kinds,) bool says which feedback kinds count as liking the item.
    """

    def __init__(self, agent, item_vectors: np.ndarray, n_rows: int, positive: np.ndarray, k: int = 8):
        self.agent = agent
        self.positive = np.asarray(positive, dtype=bool)
        self.liked = LikedItems(item_vectors, n_rows, k)
        agent.explain = True

    def columns(self, user_ids: np.ndarray, decision, kind: np.ndarray, position: np.ndarray) -> dict:
        """This step's columns, (B·s,) each; then remembers what the users liked in this step."""
        actions = decision.actions
        b = actions.shape[0]
        shown = actions.reshape(b, -1)
        item, cos = self.liked.nearest(user_ids, shown)
        out = why_columns(decision, shown.shape[1], b)
        out["because_action"] = item.reshape(-1)
        out["because_cosine"] = cos.reshape(-1)
        self.liked.observe(user_ids, liked_item_of(actions, position), self.positive[kind])
        return out

    def stop(self) -> None:
        """No more explanations (the log is full): the agent stops computing them."""
        self.agent.explain = False


def why_columns(decision, k: int, b: int) -> dict[str, np.ndarray]:
    """The score-split columns of one step, (b·k,) each: NaN / -1 where the agent gives none."""
    why = decision.explanation or {}

    def col(key: str, fill, dtype) -> np.ndarray:
        value = why.get(key)
        if value is None:
            return np.full(b * k, fill, dtype=dtype)
        return np.asarray(value).reshape(b * k).astype(dtype)

    return {"why_exploit": col("exploit", np.nan, np.float64), "why_explore": col("explore", np.nan, np.float64),
            "why_random": col("random", -1, np.int8)}


def liked_item_of(actions: np.ndarray, position: np.ndarray) -> np.ndarray:
    """The item each row responded to: the single item, or the slate's item at ``position`` (-1 none).

    >>> liked_item_of(np.array([[4, 5], [6, 7]]), np.array([1, -1])).tolist()
    [5, -1]
    """
    if actions.ndim == 1:
        return actions
    pos = np.maximum(position, 0)
    return np.where(position >= 0, actions[np.arange(actions.shape[0]), pos], -1)




def describe_split(agent: str, exploit: float, explore: float, random: int) -> str:
    """The score split of one logged row in words, for the agent registered as ``agent``.

    >>> describe_split("ucb1", 0.5, 0.25, -1), describe_split("ucb1", float("nan"), float("inf"), -1)
    ('mean 0.500 + bonus 0.250', 'never tried: infinite bonus')
    >>> describe_split("epsilon_greedy", 0.4, float("nan"), 1), describe_split("beta_ts", 0.7, 0.1, -1)
    ('ε: random pick', 'posterior mean 0.700, sd 0.100')
    >>> describe_split("random", float("nan"), float("nan"), -1), describe_split("private_linucb", 0.1, 0.2, -1)
    ('—', 'xᵀθ̂ 0.100 + α·width 0.200')
    """
    if random >= 0:
        return "ε: random pick" if random else f"greedy: mean {exploit:.3f}"
    if not np.isfinite(explore) and not np.isnan(explore):
        return "never tried: infinite bonus"
    if np.isnan(exploit) or np.isnan(explore):
        return "—"
    if agent.endswith("_ts"):  # every Thompson agent (beta_ts, lin_ts, discounted_gaussian_ts, ...)
        return f"posterior mean {exploit:.3f}, sd {explore:.3f}"
    a, b = ("xᵀθ̂", "α·width") if agent.endswith("linucb") else ("mean", "bonus") if "ucb" in agent else (
        "estimate", "exploration")
    return f"{a} {exploit:.3f} + {b} {explore:.3f}"
