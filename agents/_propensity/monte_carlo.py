"""Monte-Carlo propensities of Thompson sampling: from fresh draws per row, or from a pool of
draws that a replica's rows share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def monte_carlo_propensities(
    draw: Callable[[int], np.ndarray],
    items: np.ndarray,
    mask: np.ndarray | None,
    n_draws: int,
    n_arms: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Estimate P(item at its position) from ``n_draws`` fresh score draws (vectorised).

    The realised draw is counted as one hit, so the estimate (1 + hits) / (1 + n_draws)
    always lies in (0, 1].  For single items the full distribution is returned too.
    """
    n_rows, k = items.shape
    hits = np.zeros((n_rows, k))
    counts = np.zeros(n_rows * n_arms) if k == 1 else None
    chunk = max(1, min(n_draws, (1 << 21) // max(1, n_rows * n_arms * k)))
    done = 0
    row_offset = np.arange(n_rows) * n_arms
    while done < n_draws:
        n = min(chunk, n_draws - done)
        scores = draw(n)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        if k == 1:
            best = scores.argmax(axis=2)
            hits[:, 0] += (best == items[:, 0]).sum(axis=0)
            counts += np.bincount((best + row_offset).ravel(), minlength=n_rows * n_arms)
        else:
            chosen = np.take_along_axis(scores, np.broadcast_to(items, (n, n_rows, k)), axis=2)
            rank = (scores[:, :, None, :] > chosen[..., None]).sum(axis=3)
            hits += (rank == np.arange(k)).sum(axis=0)
        done += n
    propensities = (1.0 + hits) / (1.0 + n_draws)
    probabilities = None
    if k == 1:
        counts = counts.reshape(n_rows, n_arms)
        counts[np.arange(n_rows), items[:, 0]] += 1.0
        probabilities = counts / (1.0 + n_draws)
    return propensities, probabilities


def pooled_propensities(
    pool: np.ndarray,
    group: np.ndarray,
    slot: np.ndarray,
    items: np.ndarray,
    mask: np.ndarray | None,
    n_draws: int,
    top_m: int = 16,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Monte-Carlo propensities of context-free Thompson sampling from a shared pool of draws.

    ``pool`` (N, G, n_arms) holds N independent posterior score draws of each of G replicas;
    row b belongs to replica ``group[b]`` and acted on draw ``slot[b]`` (its own, realised
    draw).  Rows of one replica differ only through their masks, so row b's estimate reuses
    the n_draws pool draws after its own (cyclically, all distinct from it because
    N >= n_draws + 1): it counts, among those n_draws + 1 draws (its own one always a hit),
    how often the masked ranking puts ``items[b, j]`` at position j.  The estimate is the
    unbiased-plus-one (1 + hits) / (1 + n_draws), always in (0, 1], exactly as with fresh
    per-row draws; rows of one replica share draws, so their errors are correlated.

    Only the ``top_m`` best items of each pool draw are ranked: the masked winner of a draw
    is its first allowed item among them; (row, draw) pairs with fewer than k allowed items
    among the top_m fall back to a full masked ranking of that draw, so the result is
    exactly that of full ranking (ties aside, which have probability zero).
    """
    n_pool, _, n_arms = pool.shape
    n_rows, k = items.shape
    width = n_draws + 1
    m = min(n_arms, max(top_m, k))
    if m < n_arms:
        top = np.argpartition(pool, n_arms - m, axis=-1)[..., n_arms - m:]
    else:
        top = np.broadcast_to(np.arange(n_arms), pool.shape)
    order = np.argsort(-np.take_along_axis(pool, top, axis=-1), axis=-1, kind="stable")
    top = np.take_along_axis(top, order, axis=-1)  # (N, G, m), best first
    draw_idx = (slot[:, None] + np.arange(width)[None, :]) % n_pool  # (B, W); column 0 = own draw
    cand = top[draw_idx, group[:, None]]  # (B, W, m)
    row = np.arange(n_rows)
    if mask is None:
        allowed = np.ones(cand.shape, dtype=bool)
    else:
        allowed = mask[row[:, None, None], cand]
    if k == 1:
        winner = _first_allowed(pool, group, draw_idx, cand, allowed, mask)
        winner[:, 0] = items[:, 0]  # the realised draw chose items[b] (whatever the tie-break)
        hits = (winner == items[:, :1]).sum(axis=1, keepdims=True)
        counts = np.bincount((winner + (row * n_arms)[:, None]).ravel(), minlength=n_rows * n_arms)
        return hits / width, counts.reshape(n_rows, n_arms) / width
    hit = _position_hits(pool, group, draw_idx, cand, allowed, mask, items)
    hit[:, 0] = True
    return hit.sum(axis=1) / width, None


def _first_allowed(pool, group, draw_idx, cand, allowed, mask) -> np.ndarray:
    """(B, W) masked winner of each row's window draws: the first allowed candidate, else the
    argmax of the full masked draw."""
    first = allowed.argmax(axis=-1)
    ok = np.take_along_axis(allowed, first[..., None], axis=-1)[..., 0]
    winner = np.take_along_axis(cand, first[..., None], axis=-1)[..., 0]  # (B, W)
    bb, ww = np.nonzero(~ok)
    if bb.size:
        scores = pool[draw_idx[bb, ww], group[bb]]
        winner[bb, ww] = np.argmax(np.where(mask[bb], scores, -np.inf), axis=1)
    return winner


def _position_hits(pool, group, draw_idx, cand, allowed, mask, items) -> np.ndarray:
    """(B, W, k) whether each window draw's masked ranking puts ``items[b, j]`` at position j;
    draws with fewer than k allowed candidates are ranked in full."""
    k = items.shape[1]
    pos = np.cumsum(allowed, axis=-1) - 1  # rank of each candidate among the allowed ones
    ok = pos[..., -1] >= k - 1
    at = (cand[:, :, None, :] == items[:, None, :, None]) & allowed[:, :, None, :]
    hit = (at & (pos[:, :, None, :] == np.arange(k)[:, None])).any(axis=-1)  # (B, W, k)
    bb, ww = np.nonzero(~ok)
    if bb.size:
        scores = np.where(mask[bb], pool[draw_idx[bb, ww], group[bb]], -np.inf)
        chosen = np.take_along_axis(scores, items[bb], axis=1)
        rank = (scores[:, None, :] > chosen[:, :, None]).sum(axis=2)
        hit[bb, ww] = rank == np.arange(k)
    return hit
