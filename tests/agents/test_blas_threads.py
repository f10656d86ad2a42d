"""The linear agents run their products on one BLAS thread and leave the caller's setting as it was."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from agents import Context, Feedback, make_agent
from agents._blas_threads import one_blas_thread


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_one_blas_thread_nests_and_restores():
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        with one_blas_thread():
            assert set(_blas_threads()) == {1}
            with one_blas_thread():
                assert set(_blas_threads()) == {1}
            assert set(_blas_threads()) == {1}
        assert _blas_threads() == before


@pytest.mark.parametrize(("name", "mode"), [("lin_ts", "shared"), ("lin_ts", "disjoint"), ("linucb", "shared"),
                                            ("linucb", "disjoint")])
def test_linear_agents_score_and_learn_on_one_thread(name, mode):
    """The scoring and the posterior update see one BLAS thread; the caller's two come back."""
    rng = np.random.default_rng(0)
    items = rng.normal(size=(30, 8))
    agent = make_agent(name, 30, mode=mode, random_state=0)
    seen = []
    for attr in ("_fit_rows_now", "_mean_and_quad_now"):
        real = getattr(agent, attr)

        def spy(*args, real=real):
            seen.append(set(_blas_threads()))
            return real(*args)

        setattr(agent, attr, spy)
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        for _ in range(3):
            ctx = Context(features=rng.normal(size=(2, 4)), arm_features=items)
            d = agent.act(ctx)
            agent.update(ctx, d, Feedback(reward=rng.random(2)))
            assert _blas_threads() == before
    assert seen and all(s == {1} for s in seen), seen


def test_torch_threads_are_limited_inside_and_restored():
    """neural_linear_ts's act and update run on one torch thread (its small tensors lose to the
    pool's wake-ups); the caller's torch setting comes back afterwards."""
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with one_blas_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        rng = np.random.default_rng(1)
        agent = make_agent("neural_linear_ts", 12, random_state=0, retrain_every=8, n_train_steps=2)
        seen = []
        real = agent._learn_now

        def spy(*args):
            seen.append(torch.get_num_threads())
            return real(*args)

        agent._learn_now = spy
        for _ in range(3):
            ctx = Context(features=rng.normal(size=(4, 3)), arm_features=rng.normal(size=(12, 5)))
            d = agent.act(ctx)
            agent.update(ctx, d, Feedback(reward=rng.random(4)))
            assert torch.get_num_threads() == 2
        assert seen == [1, 1, 1]
    finally:
        torch.set_num_threads(saved)
