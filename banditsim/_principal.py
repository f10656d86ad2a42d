"""Principal directions of a catalog's item vectors: the world's user-history coordinates
(:mod:`banditsim.envs.user_history`) and the linear agents' ``arm_dim`` reduction use the same ones.

A leaf: it imports neither ``envs``, ``agents`` nor ``sim``, so both sides may use it.
"""

from __future__ import annotations

import numpy as np


def principal_directions(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(centre (d,), top-``k`` principal directions (d, k)) of the rows of ``x``, in ``x``'s dtype.

    A row's coordinates are ``(row - centre) @ directions``.

    >>> x = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 0.1]])
    >>> centre, basis = principal_directions(x, 1)
    >>> centre.round(3).tolist(), basis.shape, round(abs(float(basis[0, 0])), 3)
    ([2.0, 0.033], (2, 1), 1.0)
    """
    centre = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - centre, full_matrices=False)
    return centre, vt[:k].T
