"""banditsim._blas_threads: one BLAS (and, for the agents, torch) thread inside a use, the caller's setting
restored after it; the linear agents run their products inside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from banditsim.agents import Context, Feedback, make_agent
from banditsim._blas_threads import one_blas_and_torch_thread, one_blas_thread


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
        with one_blas_and_torch_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with one_blas_thread():  # the world's limit leaves torch alone
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


def _in_thread(fn):
    """Run ``fn`` in a new thread; re-raise what it raised."""
    out: list = []

    def run():
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test's thread
            out.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if out:
        raise out[0]


def test_the_limit_holds_in_any_thread():
    """A thread other than the first one to use the limit gets it too (threadpoolctl lets only the first
    thread that sets an OpenBLAS limit set it: the old wrapper silently did nothing elsewhere)."""
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        with one_blas_thread():
            assert set(_blas_threads()) == {1}

        def worker():
            with one_blas_thread():
                assert set(_blas_threads()) == {1}
                m = np.random.default_rng(0).normal(size=(300, 300))
                assert np.isfinite(m @ m).all()
            assert _blas_threads() == before

        _in_thread(worker)
        _in_thread(worker)
        assert _blas_threads() == before


def test_one_thread_leaving_keeps_the_limit_for_another():
    """A enters, B enters, A leaves: B is still on one thread; the setting comes back when B leaves."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with one_blas_thread():
            a_in.set()
            assert b_in.wait(10)
        a_out.set()

    def b():
        assert a_in.wait(10)
        with one_blas_thread():
            b_in.set()
            assert a_out.wait(10)
            seen["b after a left"] = set(_blas_threads())

    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        threads = [threading.Thread(target=a), threading.Thread(target=b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert seen == {"b after a left": {1}}
        assert _blas_threads() == before


def test_an_exception_restores_and_a_new_caller_setting_is_honoured():
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        with pytest.raises(ZeroDivisionError):
            with one_blas_thread():
                1 / 0
        assert _blas_threads() == before
        with threadpool_limits(1, user_api="blas"):  # changed between uses: read again, kept
            with one_blas_thread():
                assert set(_blas_threads()) == {1}
            assert set(_blas_threads()) == {1}
        with threadpool_limits(3, user_api="blas"):
            with one_blas_thread():
                assert set(_blas_threads()) == {1}
            assert set(_blas_threads()) == {3}
        assert _blas_threads() == before


_LATE_LOAD = r"""
import importlib.util, sys
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
spec = importlib.util.spec_from_file_location("blas_threads", sys.argv[1])
blas_threads = importlib.util.module_from_spec(spec)
spec.loader.exec_module(blas_threads)
one_thread = getattr(blas_threads, sys.argv[2])
with one_thread():  # first use: only numpy's BLAS is loaded
    pass
import scipy.linalg  # a second OpenBLAS (scipy's), loaded after the first use
import torch
def blas():
    return sorted(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
torch.set_num_threads(2)
with threadpool_limits(2, user_api="blas"):
    assert len(blas()) >= 2, threadpool_info()
    with one_thread():
        inside, torch_inside = blas(), torch.get_num_threads()
    after, torch_after = blas(), torch.get_num_threads()
import json
print(json.dumps([inside, after, torch_inside, torch_after]))
"""


@pytest.mark.parametrize(("limit", "torch_inside"), [("one_blas_and_torch_thread", 1), ("one_blas_thread", 2)])
def test_libraries_loaded_after_the_first_use_are_limited(limit, torch_inside):
    """scipy's OpenBLAS and torch, loaded after the first use, are limited at the next one (the agents'
    limit covers torch, the world's leaves it alone)."""
    root = Path(__file__).resolve().parents[2]
    module = root / "banditsim" / "_blas_threads.py"
    out = subprocess.run([sys.executable, "-c", _LATE_LOAD, str(module), limit], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert out.returncode == 0, out.stderr
    inside, after, t_inside, t_after = json.loads(out.stdout)
    assert set(inside) == {1} and set(after) == {2}, out.stdout
    assert (t_inside, t_after) == (torch_inside, 2), out.stdout


def test_a_forked_child_restores_what_other_threads_had_limited():
    """A fork while another thread is inside: the child (where that thread does not exist) is back on
    the parent's setting and can use the limit again."""
    entered, release = threading.Event(), threading.Event()
    held = []

    def hold():
        with one_blas_thread():
            held.append(set(_blas_threads()))
            entered.set()
            release.wait(20)

    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        t = threading.Thread(target=hold)
        t.start()
        try:
            assert entered.wait(10) and held == [{1}]
            pid = os.fork()
            if pid == 0:  # child: report by exit status only
                ok = _blas_threads() == before
                with one_blas_thread():
                    ok = ok and set(_blas_threads()) == {1}
                ok = ok and _blas_threads() == before
                os._exit(0 if ok else 1)
            _, status = os.waitpid(pid, 0)
        finally:
            release.set()
            t.join(20)
        assert os.WEXITSTATUS(status) == 0
        assert _blas_threads() == before
