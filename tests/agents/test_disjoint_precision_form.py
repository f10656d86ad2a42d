"""The disjoint posterior's d×d precision form (pairs with more rows than features) agrees with
the Woodbury update it replaces, and Woodbury never sees more rows than features."""

import numpy as np
import pytest
import torch

from banditsim.agents._linear.posterior_disjoint import DisjointLinearPosterior

torch.set_num_threads(1)
DIM = 6


def _batch(counts, seed=0, kind="normal"):
    """Rows for (replica 0 or 1, arm k) pairs, ``counts[k]`` rows on arm k (0: the arm is unused)."""
    rng = np.random.default_rng(seed)
    arms = np.repeat(np.arange(len(counts)), counts)
    n = arms.size
    x = rng.normal(size=(n, DIM))
    if kind == "ill":  # near-collinear features
        x[:, 1] = x[:, 0] + 1e-7 * rng.normal(size=n)
    elif kind == "repeated":  # one row again and again
        x[:] = x[0]
    perm = rng.permutation(n)
    return (rng.integers(2, size=n), arms[perm], x[perm], rng.uniform(0.5, 2.0, size=n),
            rng.normal(size=n))


def _woodbury_only(post, cov, xm, counts):
    return post._woodbury(cov, xm)


def _states(counts, kind, device, newton, monkeypatch):
    out = []
    for reference in (False, True):
        post = DisjointLinearPosterior(2, len(counts), DIM, ridge=0.7, device=device)
        if reference:
            monkeypatch.setattr(post, "_rank_m", lambda c, xm, n: _woodbury_only(post, c, xm, n))
        for seed in range(3):
            post.update(*_batch(counts, seed, kind), newton=newton)
        out.append((post.cov, post.mean, np.asarray(post.packed, dtype=np.float64)))
    return out


CASES = {
    "m>>d": [40, 25, 30],
    "m=1 beside m>>d": [1, 40, 3],
    "m<d beside m>d": [DIM - 1, DIM + 1, 2],
    "m=d": [DIM, DIM, DIM],
    "unused arms": [0, 50, 0, 7, 0],
}


@pytest.mark.parametrize("device", [None, "cpu"])
@pytest.mark.parametrize("kind", ["normal", "ill", "repeated"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("newton", [False, True])
def test_precision_form_equals_woodbury(case, kind, device, newton, monkeypatch):
    new, old = _states(CASES[case], kind, device, newton, monkeypatch)
    for a, b in zip(new, old):
        assert np.linalg.norm(a - b) <= 1e-10 * np.linalg.norm(b)
    cov = new[0]
    assert np.array_equal(cov, np.swapaxes(cov, -1, -2))


@pytest.mark.parametrize("device", [None, "cpu"])
def test_woodbury_never_gets_more_rows_than_features(device, monkeypatch):
    post = DisjointLinearPosterior(2, 3, DIM, ridge=1.0, device=device)
    widths = []
    woodbury = post._woodbury
    monkeypatch.setattr(post, "_woodbury", lambda cov, xm: widths.append(xm.shape[1]) or woodbury(cov, xm))
    post.update(*_batch([DIM - 2, 60, 1]))
    assert widths and max(widths) <= DIM


def test_precision_form_matches_the_ridge_solution():
    replica, arms, x, w, y = _batch([50, 3, 9])
    post = DisjointLinearPosterior(2, 3, DIM, ridge=1.0)
    post.update(replica, arms, x, w, y)
    for r in range(2):
        for a in range(3):
            rows = (replica == r) & (arms == a)
            precision = np.eye(DIM) + (x[rows] * w[rows, None]).T @ x[rows]
            np.testing.assert_allclose(post.cov[r, a], np.linalg.inv(precision), rtol=1e-10, atol=1e-13)
            np.testing.assert_allclose(post.mean[r, a], np.linalg.solve(precision, x[rows].T @ (w * y)[rows]),
                                       rtol=1e-9, atol=1e-12)
