"""Uniform draws kept inside the open interval (0, 1): the feedback draw takes their logit."""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def open_uniforms(rng: np.random.Generator, shape) -> np.ndarray:
    """``rng.random(shape)`` clipped to [EPS, 1 − EPS].

    >>> u = open_uniforms(np.random.default_rng(0), 3)
    >>> u.shape, bool(((u > 0) & (u < 1)).all())
    ((3,), True)
    """
    return np.clip(rng.random(shape), EPS, 1 - EPS)
