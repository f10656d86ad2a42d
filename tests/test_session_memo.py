"""The test session's by-value memo (tests/session_memo.py) and its use on the MovieLens fit."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.session_memo import memoise_by_value


def _counted():
    calls = []

    def build(x, ratings=None, *, scale=2.0):
        calls.append(1)
        if scale < 0:
            raise ValueError("negative scale")
        return {"y": np.asarray(x, dtype=float) * scale, "meta": [scale]}

    return build, calls


def test_equal_arguments_compute_once_and_every_caller_gets_its_own_copy():
    build, calls = _counted()
    f = memoise_by_value(build)
    a = f(np.arange(3.0))
    a["y"][0] = 99.0  # a caller changing its result in place
    a["meta"].append("x")
    b = f(np.arange(3.0), scale=2.0)  # equal by value, default spelled out
    assert len(calls) == 1 and f.memo_stats == {"hits": 1, "misses": 1}
    np.testing.assert_array_equal(b["y"], [0.0, 2.0, 4.0])
    assert b["meta"] == [2.0]


@pytest.mark.parametrize("other", [
    lambda f: f(np.arange(3.0) + 1e-12),                # one value differs
    lambda f: f(np.arange(3.0).astype(np.float32)),     # same values, other dtype
    lambda f: f(np.arange(3.0).reshape(3, 1)),          # same bytes, other shape
    lambda f: f(np.arange(3.0), scale=3.0),             # another setting
])
def test_different_arguments_compute_again(other):
    build, calls = _counted()
    f = memoise_by_value(build)
    f(np.arange(3.0))
    other(f)
    assert len(calls) == 2 and f.memo_stats == {"hits": 0, "misses": 2}


def test_bypassed_unkeyable_and_failed_calls_are_never_memoised():
    build, calls = _counted()
    f = memoise_by_value(build, when=lambda args: args["ratings"] is None)
    f(np.ones(2), ratings="mine")
    f(np.ones(2), ratings="mine")
    assert len(calls) == 2 and f.memo_stats == {"hits": 0, "misses": 0}
    f(np.ones(2), object())  # cannot be keyed by value: computed, not stored
    f(np.ones(2), object())
    assert len(calls) == 4 and f.memo_stats == {"hits": 0, "misses": 0}
    for _ in range(2):
        with pytest.raises(ValueError, match="negative scale"):
            f(np.ones(2), scale=-1.0)
    assert len(calls) == 6 and f.memo_stats == {"hits": 0, "misses": 0}


def test_the_oldest_result_goes_first_when_the_memo_is_full():
    build, calls = _counted()
    f = memoise_by_value(build, max_entries=2)
    for v in (1.0, 2.0, 1.0, 3.0):  # 1.0 is used again, so 2.0 is the one evicted by 3.0
        f(np.full(2, v))
    f(np.full(2, 1.0))
    f(np.full(2, 2.0))
    assert len(calls) == 4 and f.memo_stats == {"hits": 2, "misses": 4}


def test_dataclass_arguments_are_keyed_by_their_fields():
    from banditsim.envs.fit_ratings import Ratings

    def ratings(r):
        return Ratings(np.array([0, 1]), np.array([1, 0]), np.array([r, 4.0]), ("a", "b"), 2)

    build, calls = _counted()
    f = memoise_by_value(build)
    for r in (5.0, 5.0, 3.0):
        f(np.ones(2), ratings(r))
    assert len(calls) == 2 and f.memo_stats == {"hits": 1, "misses": 2}


def _tiny_ratings(seed=0):
    from banditsim.envs.fit_ratings import Ratings

    rng = np.random.default_rng(seed)
    n_users, n_items = 6, 12
    user = np.repeat(np.arange(n_users), 8)
    return (Ratings(user, rng.integers(0, n_items, size=len(user)), rng.integers(1, 6, size=len(user)).astype(float),
                    tuple(str(u + 1) for u in range(n_users)), n_items), rng.normal(size=(n_items, 6)))


def test_the_taste_fit_is_memoised_unless_it_shows_progress(monkeypatch):
    """The root conftest installs the memo on fit_tastes (also where ratings_log imported it by name)."""
    import banditsim.envs.fit_ratings as fit_ratings
    import banditsim.envs.ratings_log as ratings_log

    if os.environ.get("BANDITSIM_TEST_NO_MEMO"):
        assert not hasattr(fit_ratings.fit_tastes, "memo_stats")
        return
    assert ratings_log.fit_tastes is fit_ratings.fit_tastes
    stats = fit_ratings.fit_tastes.memo_stats
    ratings, x = _tiny_ratings(7)
    before = dict(stats)
    a = fit_ratings.fit_tastes(x, ratings, dim=3)
    a["v"][:] = 0.0  # a caller changing its copy
    b = fit_ratings.fit_tastes(x.copy(), ratings, dim=3)
    assert (stats["misses"] - before["misses"], stats["hits"] - before["hits"]) == (1, 1)
    assert np.abs(b["v"]).sum() > 0
    monkeypatch.setenv("BANDITSIM_PROGRESS_SECONDS", "0.02")  # a progress-line test: always fitted
    fit_ratings.fit_tastes(x, ratings, dim=3)
    monkeypatch.delenv("BANDITSIM_PROGRESS_SECONDS")
    fit_ratings.fit_tastes(x, ratings, dim=3, progress=True)
    assert (stats["misses"] - before["misses"], stats["hits"] - before["hits"]) == (1, 1)


def test_a_replaced_knob_or_function_of_the_fit_is_never_served_from_the_memo(monkeypatch):
    """test_ratings_population's Gram-block test fits twice with equal arguments, the second time with
    a smaller GRAM_BYTES: both must really run (the memo must not hand back the first fit)."""
    import banditsim.envs.fit_ratings as fit_ratings
    import banditsim.envs.text_mf as text_mf

    if os.environ.get("BANDITSIM_TEST_NO_MEMO"):
        return
    stats = fit_ratings.fit_tastes.memo_stats
    ratings, x = _tiny_ratings(11)
    fit_ratings.fit_tastes(x, ratings, dim=3)  # memoised
    before = dict(stats)
    monkeypatch.setattr(fit_ratings, "GRAM_BYTES", 8 * 8 * 8 * 7)
    fit_ratings.fit_tastes(x, ratings, dim=3)
    monkeypatch.undo()
    calls = []
    real = text_mf.fit_text_mf

    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(text_mf, "fit_text_mf", counted)
    fit_ratings.fit_tastes(x, ratings, dim=3)
    assert calls, "a test's replacement of fit_text_mf was skipped by the memo"
    assert stats == before  # both calls bypassed the memo: neither a hit nor a miss
    monkeypatch.undo()
    fit_ratings.fit_tastes(x, ratings, dim=3)
    assert stats["hits"] == before["hits"] + 1  # the untouched code is served from the memo again
