"""The disjoint posterior's Woodbury update in chunks of pairs gives the bits of one batched update."""

import numpy as np

from banditsim.agents._linear import posterior_disjoint
from banditsim.agents._linear.posterior_disjoint import DisjointLinearPosterior


def _crowded_batch(seed: int = 0):
    """Rows that crowd onto a few arms (groups of 1 to 9 rows per pair), over two replicas."""
    rng = np.random.default_rng(seed)
    n = 60
    replica = rng.integers(2, size=n)
    arms = rng.choice(7, size=n, p=[0.4, 0.2, 0.15, 0.1, 0.08, 0.05, 0.02])
    return replica, arms, rng.normal(size=(n, 5)), rng.uniform(0.5, 2.0, size=n), rng.normal(size=n)


def _state_after(batches):
    post = DisjointLinearPosterior(n_replicas=2, n_arms=7, dim=5, ridge=1.0)
    for replica, arms, x, w, y in batches:
        post.update(replica, arms, x, w, y)
    return post.cov, post.mean, np.asarray(post.packed)


def test_chunked_woodbury_is_bit_identical(monkeypatch):
    batches = [_crowded_batch(s) for s in range(3)]
    whole = _state_after(batches)
    monkeypatch.setattr(posterior_disjoint, "_WOODBURY_ELEMENTS", 1)  # one pair per chunk
    chunked = _state_after(batches)
    for a, b in zip(whole, chunked):
        assert a.tobytes() == b.tobytes()


def test_chunked_woodbury_matches_the_ridge_solution(monkeypatch):
    monkeypatch.setattr(posterior_disjoint, "_WOODBURY_ELEMENTS", 1)
    replica, arms, x, w, y = _crowded_batch()
    post = DisjointLinearPosterior(n_replicas=2, n_arms=7, dim=5, ridge=1.0)
    post.update(replica, arms, x, w, y)
    for r, a in [(0, 0), (1, 0), (1, 3)]:
        rows = (replica == r) & (arms == a)
        xr, wr = x[rows], w[rows]
        precision = np.eye(5) + (xr * wr[:, None]).T @ xr
        np.testing.assert_allclose(post.cov[r, a], np.linalg.inv(precision), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(post.mean[r, a], np.linalg.solve(precision, xr.T @ (wr * y[rows])),
                                   rtol=1e-9, atol=1e-12)
