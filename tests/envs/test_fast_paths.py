"""The world's fast paths equal the plain formulas they replace."""

import numpy as np
import pytest

from banditsim.envs.backend import Backend
from banditsim._blas_threads import one_blas_thread
from banditsim.envs.dynamics import Fatigue, FatigueState, near_duplicates
from banditsim.envs.feedback import (
    FeedbackModel,
    expected_reward,
    expected_reward_scaled,
    sample_kinds,
    sample_kinds_scaled,
    scaled_cuts,
)
from banditsim.envs.feedback_kinds import reward_vector
from banditsim.envs.taste_rows import TasteRows

BACKENDS = ["numpy", "torch"]


def _be(name):
    if name == "torch":
        pytest.importorskip("torch")
    return Backend(name)


def _unit(rng, n, d):
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_taste_rows_pull_equals_normalised_update(backend):
    be = _be(backend)
    rng = np.random.default_rng(0)
    x, theta = _unit(rng, 30, 12), _unit(rng, 9, 12)
    t = TasteRows(be, 9, 12)
    t.set_rows(be.arange(9), be.asarray(theta))
    ref = theta.astype(np.float64)
    eta = 0.3
    for step in range(400):  # long enough for the scale to be folded back (2⁻²⁰) several times
        rows = np.flatnonzero(rng.random(9) < 0.6)
        items = rng.integers(30, size=len(rows))
        s = be.to_numpy(t.dot_items(be.asarray(x), be.asarray(rng.integers(30, size=9), "int64")))
        assert s.shape == (9,)
        if not len(rows):
            continue
        r, j = be.asarray(rows, "int64"), be.asarray(items, "int64")
        s_rj = t.dot_pairs(be.asarray(x), r, j)
        norm = (1.0 + 2.0 * eta * s_rj + eta * eta) ** 0.5
        t.pull(r, be.asarray(x), j, eta, norm)
        upd = ref[rows] + eta * x[items]
        ref[rows] = upd / np.linalg.norm(upd, axis=1, keepdims=True)
    got = be.to_numpy(t.get())
    np.testing.assert_allclose(got, ref, atol=2e-4)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=2e-4)
    assert be.to_numpy(t.m).min() >= 2.0 ** -20 * 0.9  # folded, never left to underflow
    idx = be.asarray([2, 5], "int64")
    np.testing.assert_allclose(be.to_numpy(t.times(idx, be.asarray(x.T))), got[[2, 5]] @ x.T, atol=1e-5)


def test_taste_rows_numpy_and_torch_agree():
    pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, theta = _unit(rng, 20, 8), _unit(rng, 600, 8)  # more rows than one dot-product block
    out = []
    for name in BACKENDS:
        be = Backend(name)
        t = TasteRows(be, 600, 8)
        t.set_rows(be.arange(600), be.asarray(theta))
        r = np.arange(0, 600, 3)
        j = np.arange(len(r)) % 20
        norm = np.sqrt(1 + 2 * 0.1 * (theta[r] * x[j]).sum(1) + 0.01).astype(np.float32)
        t.pull(be.asarray(r, "int64"), be.asarray(x), be.asarray(j, "int64"), 0.1, be.asarray(norm))
        out.append((be.to_numpy(t.get()), be.to_numpy(t.dot_items(be.asarray(x), be.asarray(np.arange(600) % 20, "int64")))))
    np.testing.assert_allclose(out[0][0], out[1][0], atol=1e-6)
    np.testing.assert_allclose(out[0][1], out[1][1], atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_scaled_feedback_equals_general_feedback(backend):
    be = _be(backend)
    rng = np.random.default_rng(2)
    n = 5000
    temp = rng.uniform(0.2, 0.9, n)
    cuts = FeedbackModel(0.7, 1.9).cut_points(rng.normal(-0.6, 0.2, n), rng.normal(0.7, 0.2, n), temp)
    u = rng.normal(0, 1.5, n)
    for rmap in (None, {"click": 0.2, "save": 2.0}, {"block": 3.0}):
        r = reward_vector(rmap)
        ref = expected_reward(u, cuts, temp, r)
        ct = scaled_cuts(be.asarray(cuts, "float64"), be.asarray(temp, "float64"))
        got = be.to_numpy(expected_reward_scaled(be.asarray(u / temp, "float64"), ct, r))
        np.testing.assert_allclose(got, ref, atol=1e-9)
        two = be.to_numpy(expected_reward_scaled(be.asarray(np.stack([u, -u]) / temp, "float64"), ct, r))
        np.testing.assert_allclose(two[0], ref, atol=1e-9)
    un = rng.uniform(1e-6, 1 - 1e-6, n)
    ref_k = sample_kinds(u, cuts, temp, un)
    got_k = be.to_numpy(sample_kinds_scaled(be.asarray(u / temp, "float64"), ct, be.asarray(un, "float64")))
    assert (got_k == ref_k).mean() > 0.9999  # equal up to rounding exactly at a cut point


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_exposure_equals_general_exposure(backend):
    be = _be(backend)
    rng = np.random.default_rng(3)
    x = _unit(rng, 40, 4)  # low dimension: many near duplicates
    cfg = Fatigue(similarity=0.8, max_neighbors=4)
    nbr = near_duplicates(x, cfg)
    a, b = FatigueState(be, 50, 40, cfg, *nbr), FatigueState(be, 50, 40, cfg, *nbr)
    assert a.has_nbr.any() and not a.has_nbr.all()
    rows = be.arange(50)
    for _ in range(6):
        items = be.asarray(rng.integers(40, size=50), "int64")
        a.tick(), b.tick()
        a.expose(rows, items, accumulate=False)
        flat = rows * 40 + items
        b.expose_single(rows, items, flat, be.take(b.f, flat) if rng.random() < 0.5 else None)
    np.testing.assert_allclose(be.to_numpy(a.f), be.to_numpy(b.f), rtol=1e-6)


def test_one_blas_thread_restores_the_thread_count():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    with threadpoolctl.threadpool_limits(2, user_api="blas"):  # above one, whatever the machine's default
        before = blas()
        with one_blas_thread():
            inside = blas()
            with one_blas_thread():  # nests
                nested = blas()
            after_nested = blas()
        after = blas()
    assert before and set(before) == {2}
    assert set(inside) == set(nested) == set(after_nested) == {1} and after == before
