"""One ridge regression per group (user or item), all solved in batches, in bounded memory.

For every group ``g`` (a user, or an item) with rows ``(col, y)``::

    w_g = argmin_w  Σ_rows (y − w·F[col])²  +  λ‖w − prior_g‖²
        = (Σ F[col] F[col]ᵀ + λI)⁻¹ (Σ y F[col] + λ prior_g)

Each group's Gram matrix is ``F_gᵀ F_g`` of its rows' factors, one BLAS product per group, done
in stacks: groups are sorted into size classes (row counts up to 2^(c/4)), a stack of a class is
gathered into a zero-padded (groups, rows, k) array and multiplied at once. Nothing of
size (n_cols, k²) or (n_groups, k²) is ever built (at 100,000 items and k = 64 that array alone
is 3.3 GB): a stack's gathered factors and its Gram matrices stay under ``max_bytes``, and a group
with more rows than fit is summed a chunk of rows at a time.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

GRAM_BYTES = 1 << 28  # the largest Gram block or outer-product chunk built at once


def grouped_ridge(group: np.ndarray, col: np.ndarray, y: np.ndarray, factors: np.ndarray, n_groups: int,
                  lam: float, prior: np.ndarray | None = None, *, max_bytes: int = GRAM_BYTES) -> np.ndarray:
    """The ridge solution of every group (see the module docstring); (n_groups, k).

    ``prior`` (n_groups, k) is the point each group's solution is shrunk toward (default 0); a
    group without rows gets its prior.

    >>> f = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> grouped_ridge(np.array([0, 0]), np.array([0, 1]), np.array([3.0, 4.0]), f, 2, 1.0).round(3).tolist()
    [[1.5, 1.6], [0.0, 0.0]]
    """
    k = factors.shape[1]
    if lam <= 0:
        raise ValueError(f"the ridge penalty must be positive, got {lam}")
    rhs = sp.csr_matrix((np.asarray(y, dtype=np.float64), (group, col)), shape=(n_groups, factors.shape[0])) @ factors
    out = np.zeros((n_groups, k)) if prior is None else np.array(prior, dtype=np.float64, copy=True)
    if prior is not None:
        rhs += lam * out
    eye = lam * np.eye(k)
    for members, gram in gram_stacks(group, col, factors, n_groups, max_bytes):
        out[members] = np.linalg.solve(gram + eye, rhs[members, :, None])[:, :, 0]
    return out


def gram_stacks(group: np.ndarray, col: np.ndarray, factors: np.ndarray, n_groups: int,
                max_bytes: int = GRAM_BYTES):
    """Yield ``(groups, their Gram matrices Σ F[col] F[col]ᵀ)`` for every group with rows, a stack at a time.

    >>> f = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> [(g.tolist(), m.tolist()) for g, m in gram_stacks(np.array([1, 1]), np.array([0, 1]), f, 2)]
    [([1], [[[1.0, 0.0], [0.0, 4.0]]])]
    """
    k = factors.shape[1]
    order = np.argsort(group, kind="stable")
    rows_sorted = np.asarray(col)[order]
    counts = np.bincount(group, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)])
    longest = max(1, max_bytes // (k * 8))  # rows of one group gathered at once
    # size classes 2^(c/4): a stack pads its groups' rows by at most 19% (at most 100% with powers of 2)
    size_class = np.ceil(4 * np.log2(np.maximum(counts, 1)) - 1e-9).astype(np.int64)
    for c in np.unique(size_class[counts > 0]):
        width = min(max(int(counts[size_class == c].max()), 1), longest)
        members = np.flatnonzero((counts > 0) & (size_class == c))
        per_stack = max(1, max_bytes // (8 * k * max(width, k)))
        for lo in range(0, len(members), per_stack):
            g = members[lo:lo + per_stack]
            gram = np.zeros((len(g), k, k))
            for offset in range(0, int(counts[g].max()), width):  # one pass unless a group is huge
                pos = starts[g][:, None] + offset + np.arange(width)[None, :]
                valid = pos < starts[g + 1][:, None]
                f = factors[rows_sorted[np.where(valid, pos, 0)]]
                f[~valid] = 0.0
                gram += np.matmul(f.transpose(0, 2, 1), f)
            yield g, gram
