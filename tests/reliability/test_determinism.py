"""Determinism (issue #9, item 3): same config and seed, bit-identical results.

The matrix (each row a test here or named elsewhere):

* repeat runs in fresh interpreters (another hash seed): every parquet file byte-identical;
* workers 1 vs 2: byte-identical — the workers=2 sweep of tests/reliability/test_kill_resume.py
  (every cell computed by spawned workers, across kills) must equal the workers=1 reference
  byte for byte; uninterrupted: tests/sim/test_runner.py::test_worker_count_does_not_change_numbers;
* local vs Ray backend: identical tables, tests/sim/test_runner.py::test_ray_backend_gives_identical_metrics
  (not repeated here: starting Ray costs ~15 s);
* batch sizes. ``world.n_users`` is the experiment's number of simultaneous users, not a batch
  knob (more users = another experiment), so the batch sizes whose semantics allow equality are:
  (a) agents' ``update`` on B rows at once vs the same rows in chunks: bit-identical state for
  every counting agent (np.add.at adds row by row in order), equal to 1e-9 for the linear
  models (a rank-m Woodbury/Cholesky update rounds differently from m rank-1 updates) with the
  same decisions; not logistic_ts (one Newton step per call: batching is part of its
  definition) nor neural_linear_ts (retrains on a schedule of calls); ``act`` on B rows vs chunks: identical decisions for the deterministic index
  agents; (b) ``embedding.batch_size``: vectors from a warm cache are bit-identical for any batch
  size; freshly computed, they agree to 1e-6 but not bit for bit (padding to the longest text
  of a batch changes the matrix shapes, hence float rounding) — so results are bit-reproducible
  given the cache, which the manifest names (model key + collection key).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from banditsim.agents import AGENTS, Context, Feedback, make_agent
from tests.reliability.rel_helpers import ROOT, child_env

PARQUETS = ("metrics.parquet", "log.parquet", "items.parquet", "genres.parquet")


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_repeat_run_in_a_fresh_interpreter_is_byte_identical(sweep_config, sweep_reference, tmp_path):
    out = tmp_path / "again"
    proc = subprocess.run([sys.executable, "-m", "banditsim.sim.cli", "run", str(sweep_config), "--out", str(out), "--quiet"],
                          cwd=ROOT, env=child_env(PYTHONHASHSEED="12345"), capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in PARQUETS:
        assert _sha(out / name) == _sha(sweep_reference / name), name
    assert (out / "summary.json").read_text() == (sweep_reference / "summary.json").read_text()


# ----------------------------------------------------------------------------- agents' batch size
N_ARMS, D = 8, 4
# logistic_ts takes one Newton step per update call (online Laplace), so its posterior depends on
# how rows are batched by design; neural_linear_ts retrains its network on a schedule of calls; the
# discounted and sliding-window agents count one time step per call (agents._state.step_clock) and the private
# linear ones release one tree leaf per call (their γ = 1 / long-window forms: tests/sim/test_update_every.py).
BATCH_DEPENDENT = ("logistic_ts", "neural_linear_ts", "discounted_beta_ts", "discounted_gaussian_ts",
                   "discounted_linucb", "discounted_lin_ts", "sliding_window_ucb", "private_linucb", "private_lin_ts")
CASES = [(name, dict(cls.test_params)) for name, cls in sorted(AGENTS.items())
         if name not in BATCH_DEPENDENT] + [
    ("linucb", {"mode": "shared"}), ("lin_ts", {"mode": "shared", "n_propensity_draws": 8})]
LINEAR = {"linucb", "lin_ts"}
DETERMINISTIC = {"ucb1", "kl_ucb", "linucb"}


def _rows(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D))
    kind = rng.integers(0, 7, n)
    reward = np.array([-1.0, -0.5, -0.1, 0.0, 0.5, 1.0, 1.0])[kind]
    return x, rng.integers(0, N_ARMS, n), reward, kind, rng.integers(0, 2, n)


ARM_FEATURES = np.random.default_rng(5).normal(size=(N_ARMS, 6))


def _ctx(x, replica):
    return Context(features=x, arm_features=ARM_FEATURES, replica=replica)


def _float_state(agent) -> dict[str, np.ndarray]:
    out, stack = {}, [("", vars(agent))]
    while stack:
        prefix, d = stack.pop()
        for k, v in d.items():
            if k.startswith("_scratch") or k in ("_rng",):
                continue
            if isinstance(v, np.ndarray) and v.dtype.kind == "f":
                out[prefix + k] = v
            elif hasattr(v, "__dict__") and type(v).__module__.startswith("agents"):
                stack.append((prefix + k + ".", vars(v)))
    return out


@pytest.mark.parametrize("name,params", CASES, ids=[f"{n}-{p.get('mode', 'default')}" for n, p in CASES])
def test_update_in_one_batch_or_in_chunks(name, params):
    x, arms, reward, kind, replica = _rows(600)
    whole = make_agent(name, N_ARMS, n_replicas=2, random_state=0, **params)
    chunked = make_agent(name, N_ARMS, n_replicas=2, random_state=0, **params)
    whole.update(_ctx(x, replica), arms, Feedback(reward=reward, kind=kind))
    for lo, hi in ((0, 1), (1, 8), (8, 100), (100, 600)):
        chunked.update(_ctx(x[lo:hi], replica[lo:hi]), arms[lo:hi], Feedback(reward=reward[lo:hi], kind=kind[lo:hi]))
    a, b = _float_state(whole), _float_state(chunked)
    assert a.keys() == b.keys() and a
    for key in a:
        if name in LINEAR:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-9, atol=1e-12, err_msg=key)
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    if name in DETERMINISTIC:  # same state, same decisions
        probe_x, _, _, _, probe_r = _rows(50, seed=1)
        np.testing.assert_array_equal(whole.act(_ctx(probe_x, probe_r)).actions,
                                      chunked.act(_ctx(probe_x, probe_r)).actions)


@pytest.mark.parametrize("name,params", [(n, p) for n, p in CASES if n in DETERMINISTIC],
                         ids=[f"{n}-{p.get('mode', 'default')}" for n, p in CASES if n in DETERMINISTIC])
def test_act_on_a_batch_or_in_chunks(name, params):
    x, arms, reward, kind, replica = _rows(400)
    agent = make_agent(name, N_ARMS, n_replicas=2, random_state=0, **params)
    agent.update(_ctx(x, replica), arms, Feedback(reward=reward, kind=kind))
    probe_x, _, _, _, probe_r = _rows(300, seed=2)
    whole = agent.act(_ctx(probe_x, probe_r))
    parts = [agent.act(_ctx(probe_x[lo:hi], probe_r[lo:hi])) for lo, hi in ((0, 1), (1, 50), (50, 300))]
    np.testing.assert_array_equal(whole.actions, np.concatenate([p.actions for p in parts]))
    np.testing.assert_array_equal(whole.propensities, np.concatenate([p.propensities for p in parts]))


# ----------------------------------------------------------------------------- embedding batch size
def test_embedding_batch_size(tmp_path):
    from banditsim.envs.embedding import TextEmbedder, embed_texts
    from tests.reliability.rel_helpers import ITEMS

    texts = [f"{t} ({1950 + i})" for i, t in enumerate(ITEMS)] + ["a" * 40 + " long " * 30]
    small = TextEmbedder(device="cpu", batch_size=3)
    big = TextEmbedder(device="cpu", batch_size=64)
    cold_small = embed_texts(texts, cache_dir=tmp_path / "a", progress=False, embedder=small)
    cold_big = embed_texts(texts, cache_dir=tmp_path / "b", progress=False, embedder=big)
    assert cold_small.cache_key == cold_big.cache_key
    np.testing.assert_allclose(cold_small.vectors, cold_big.vectors, rtol=0, atol=1e-6)
    # warm: whatever batch size asks, the cached vectors come back unchanged
    warm = embed_texts(texts, cache_dir=tmp_path / "a", progress=False, embedder=big)
    assert warm.n_embedded == 0
    np.testing.assert_array_equal(warm.vectors, cold_small.vectors)
    # and the same batch size on a cold cache is bit-reproducible
    again = embed_texts(texts, cache_dir=tmp_path / "c", progress=False, embedder=small)
    np.testing.assert_array_equal(again.vectors, cold_small.vectors)
    if os.environ.get("BANDITSIM_RELIABILITY_VERBOSE"):
        print("max |Δ| between batch sizes 3 and 64:", np.abs(cold_small.vectors - cold_big.vectors).max())
