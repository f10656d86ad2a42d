"""The world's one-pass cosine kernels give the numbers of the per-pair kernels they replace, bit for bit.

``TasteRows.dot_items_many`` (several item arrays and θ·u in one pass over the tastes),
``World._cosine_items_many`` (the step's chosen and best items) and ``World._slate_cosines``
(a slate's k positions) must equal ``dot_items`` / ``dot_vector`` / ``_cosine_items`` /
``_cosines`` exactly: the exact oracle and the drift read these numbers, and the world's
outputs must not depend on which path computed them.
"""

import numpy as np
import pytest

from banditsim.envs.backend import Backend
from banditsim.envs.dynamics import Drift
from banditsim.envs.taste_rows import TasteRows
from banditsim.envs.world import World
from banditsim.envs.world_config import WorldConfig

BACKENDS = ["numpy", "torch"]


def _be(name):
    if name == "torch":
        pytest.importorskip("torch")
    return Backend(name)


def _np(be, a):
    return be.to_numpy(a)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dot_items_many_equals_separate_kernels(backend):
    be = _be(backend)
    rng = np.random.default_rng(3)
    b, n, d = 600, 50, 24  # 600 rows: blocks of 256, 256 and 88
    x = rng.normal(size=(n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    t = TasteRows(be, b, d)
    t.set_rows(be.arange(b), be.asarray(x[rng.integers(n, size=b)]))
    xb = be.asarray(x)
    for _ in range(5):  # pulls leave scales m ≠ 1, so the m factor is exercised
        rows = be.asarray(np.flatnonzero(rng.random(b) < 0.5), "int64")
        items = be.asarray(rng.integers(n, size=len(rows)), "int64")
        t.pull(rows, xb, items, 0.4, be.asarray(np.full(len(rows), 1.3), "float32"))
    u = be.asarray(rng.normal(size=d), "float32")
    i1, i2, i3 = (be.asarray(rng.integers(n, size=b), "int64") for _ in range(3))
    got = t.dot_items_many(xb, [i1, i2, i3], u)
    assert len(got) == 4
    for g, it in zip(got, (i1, i2, i3)):
        np.testing.assert_array_equal(_np(be, g), _np(be, t.dot_items(xb, it)))
    np.testing.assert_array_equal(_np(be, got[3]), _np(be, t.dot_vector(be.arange(b), u)))
    some = be.asarray(np.sort(rng.choice(b, 37, replace=False)), "int64")  # a row's value: any rows alongside
    np.testing.assert_array_equal(_np(be, got[3])[_np(be, some)], _np(be, t.dot_vector(some, u)))
    assert len(t.dot_items_many(xb, [i1])) == 1  # no u: only the item arrays


def _drifted_world(backend, small_items, small_population, b=300, steps=12):
    cfg = WorldConfig(backend=backend, drift=Drift(rate=0.4))
    w = World(small_items, small_population, n_users=b, config=cfg, seed=5)
    w.reset(seed=5)
    rng = np.random.default_rng(2)
    for _ in range(steps):
        w.step(rng.integers(w.n_items, size=b))
    return w, rng


@pytest.mark.parametrize("backend", BACKENDS)
def test_world_one_pass_cosines_equal_per_pair_ones(backend, small_items, small_population):
    _be(backend)
    w, rng = _drifted_world(backend, small_items, small_population)
    be, b = w.be, w.n_users
    assert w._moved.sum() > b // 4  # the one-pass path is taken
    a1, a2 = (be.asarray(rng.integers(w.n_items, size=b), "int64") for _ in range(2))
    (s1, s2), a_u = w._cosine_items_many([a1, a2])
    np.testing.assert_array_equal(_np(be, s1), _np(be, w._cosine_items(a1)))
    np.testing.assert_array_equal(_np(be, s2), _np(be, w._cosine_items(a2)))
    np.testing.assert_array_equal(_np(be, a_u), _np(be, w._tastes.dot_vector(be.arange(b), w._tables.centre_dir)))
    for k in (1, 3, 5):
        ab = be.asarray(np.argsort(rng.random((b, w.n_items)), axis=1)[:, :k], "int64")
        ref = w._cosine_pairs(be.arange(b)[:, None] + 0 * ab, ab)
        np.testing.assert_array_equal(_np(be, w._slate_cosines(ab)), _np(be, ref))


def test_few_moved_slots_take_the_per_pair_path(small_items, small_population):
    w, rng = _drifted_world("numpy", small_items, small_population, steps=0)
    assert w._moved.sum() <= w.n_users // 4
    a1 = rng.integers(w.n_items, size=w.n_users)
    (s1,), a_u = w._cosine_items_many([a1])
    assert a_u is None  # the drift computes θ·u itself
    np.testing.assert_array_equal(s1, w._cosine_items(a1))


def _plain(world_cls):
    """A World whose cosines come from the per-pair kernels only (the reference)."""

    class Plain(world_cls):
        def _cosine_items_many(self, items_list):
            return [self._cosine_items(it) for it in items_list], None

        def _slate_cosines(self, ab):
            return self._cosine_pairs(self.be.arange(self.n_users)[:, None] + 0 * ab, ab)

    return Plain


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("slate", [0, 3])
@pytest.mark.parametrize("trend", [0.0, 0.2])
def test_steps_equal_the_per_pair_reference(backend, slate, trend, small_items, small_population):
    """Whole steps (drift, trend, blocks, churn, refused rows) give the same outputs, bit for bit."""
    _be(backend)
    cfg = WorldConfig(backend=backend, drift=Drift(rate=0.4, trend_rate=trend, trend_period=4), session_length=6)
    worlds = [cls(small_items, small_population, n_users=200, config=cfg, seed=9) for cls in (World, _plain(World))]
    for w in worlds:
        w.reset(seed=9)
    rng = np.random.default_rng(4)
    for t in range(25):
        a = (np.argsort(rng.random((200, len(small_items))), axis=1)[:, :slate] if slate
             else rng.integers(len(small_items), size=200))
        active = rng.random(200) < 0.9 if t % 5 == 2 else None
        r1, r2 = (w.step(a, active=active) for w in worlds)
        for f in ("kind", "reward", "item", "position", "expected_reward_chosen", "best_expected_reward",
                  "terminated", "truncated", "churned", "user_ids"):
            np.testing.assert_array_equal(getattr(r1, f), getattr(r2, f), err_msg=f"{f} at step {t}")
    np.testing.assert_array_equal(worlds[0].theta(), worlds[1].theta())
    assert worlds[0]._moved.sum() > 50  # the one-pass paths were in play
