"""How the embedder cuts a list of texts into model calls.

The texts are tokenised once and ordered by token count, longest first (equal counts keep their
order). Consecutive texts then form a batch of at most ``max_texts`` texts whose padded size
(texts × the longest one's tokens) stays within ``token_budget``; a text longer than the budget
gets a batch of its own. Ordering by tokens rather than characters keeps the [PAD] share small
(texts of one length in characters can differ widely in tokens, and a batch pads every text to its
longest; figures: bench/README.md), and the budget keeps long texts in small batches and short ones
in big ones. Padding does not change a text's vector (the pooling is masked), only the work.
"""

from __future__ import annotations

import numpy as np


def plan_batches(lengths, max_texts: int, token_budget: int) -> list[np.ndarray]:
    """Positions of each batch, in the order they run: every position exactly once.

    >>> [b.tolist() for b in plan_batches([3, 9, 4, 9, 1], max_texts=2, token_budget=100)]
    [[1, 3], [2, 0], [4]]
    >>> [b.tolist() for b in plan_batches([30, 10, 10, 10], max_texts=8, token_budget=25)]
    [[0], [1, 2], [3]]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.ndim != 1 or (lengths < 0).any():
        raise ValueError("lengths must be a 1-d list of non-negative token counts")
    if max_texts < 1 or token_budget < 1:
        raise ValueError(f"max_texts and token_budget must be >= 1, got {max_texts} and {token_budget}")
    order = np.argsort(-lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):  # one step per batch; the longest text of a batch is its first
        size = min(max_texts, max(1, token_budget // max(1, int(lengths[order[start]]))))
        batches.append(order[start:start + size])
        start += size
    return batches


def padded_tokens(lengths, batches: list[np.ndarray]) -> int:
    """Tokens the model sees for these batches, [PAD] included (the work they cost).

    >>> padded_tokens([3, 9, 4], [np.array([1, 2]), np.array([0])])
    21
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    return int(sum(len(b) * int(lengths[b].max()) for b in batches if len(b)))
