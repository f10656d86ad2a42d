"""The interaction log of a cell (sim.play + sim.log_buffer) against one built row by row by hand.

The reference below replays the cell's world and agent step by step and writes each log row with a
Python loop over users and slate positions (the liked-item reason from a plain list per row), so
the columnar buffers, their cut at ``log.max_rows_per_cell`` in the middle of a step, the slate
columns and the column order and types are all checked against the obvious construction.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch

from banditsim.envs.feedback_kinds import KINDS, POSITIVE_CODES
from banditsim.sim.run.cells import Cell
from banditsim.sim.run.log_buffer import LogBuffer
from banditsim.sim.run.play import build_agent, play_cell, start_world
from tests.sim.test_notebook_helpers import tiny_prep

torch.set_num_threads(1)

ORDER = ["agent", "seed", "step", "slate_id", "context_id", "action", "position", "pscore", "reward",
         "expected_reward_slate", "person_id", "why_exploit", "why_explore", "why_random", "because_action",
         "because_cosine", "decision_step", "arrival_step", "item_id", "feedback_kind"]
TYPES = {"step": pa.int32(), "position": pa.int16(), "why_random": pa.int8(), "feedback_kind": pa.string(),
         "item_id": pa.string(), "slate_id": pa.int64(), "pscore": pa.float64(), "because_action": pa.int64()}


def _prep(agent: dict, slate: int, max_rows: int, enabled: bool = True, horizon: int = 12):
    return tiny_prep({"agents": [agent], "world": {"n_users": 16, "slate_size": slate},
                      "run": {"horizon": horizon, "seeds": 1}, "log": {"max_rows_per_cell": max_rows, "enabled": enabled}})


def _by_hand(prep, seed: int) -> dict[str, list]:
    """The log of cell (agent 0, ``seed``), one row at a time."""
    from banditsim.agents.types import Context, Feedback

    cfg = prep.config
    world, obs = start_world(prep, seed)
    agent = build_agent(prep, 0, seed)
    agent.explain = True
    unit = prep.item_vectors.astype(np.float32) / np.linalg.norm(prep.item_vectors.astype(np.float32), axis=1,
                                                                    keepdims=True)
    b, k, cap = cfg.world.n_users, cfg.world.slate_size, cfg.log.max_rows_per_cell
    ring = [[-1] * 8 for _ in range(b)]
    nxt, owner = [0] * b, [-1] * b
    rows: dict[str, list] = {c: [] for c in ORDER}
    for t in range(cfg.run.horizon):
        ctx = Context(features=obs.features, arm_features=prep.item_vectors.astype(np.float64), mask=obs.mask)
        dec = agent.act(ctx)
        res = world.step(dec.actions)
        agent.update(ctx, dec, Feedback(reward=res.reward, kind=res.kind, position=res.position))
        if len(rows["step"]) >= cap:
            agent.explain = False
            obs = res.observation
            continue
        acts = dec.actions.reshape(b, k)
        p = np.asarray(dec.propensities).reshape(b, k)
        why = {key: np.asarray(v).reshape(b, k) for key, v in (dec.explanation or {}).items()}
        for r in range(b):
            if owner[r] != obs.user_ids[r]:
                ring[r], nxt[r], owner[r] = [-1] * 8, 0, int(obs.user_ids[r])
            for j in range(k):
                a = int(acts[r, j])
                answered = k == 1 or res.position[r] == j
                cands = [(float(unit[a] @ unit[i]), s) for s, i in enumerate(ring[r]) if i >= 0 and i != a]
                best = max(cands, key=lambda c: (c[0], -c[1])) if cands else None
                row = {"agent": "a", "seed": seed, "step": t, "slate_id": t * b + r, "context_id": int(obs.population_index[r]),
                       "action": a, "position": j, "pscore": float(p[r, j]),
                       "reward": float(res.reward[r]) if answered else 0.0,
                       "expected_reward_slate": float(res.expected_reward_chosen[r]), "person_id": int(obs.user_ids[r]),
                       "why_exploit": float(why["exploit"][r, j]) if "exploit" in why else None,
                       "why_explore": float(why["explore"][r, j]) if "explore" in why else None,
                       "why_random": int(why["random"][r, j]) if "random" in why else -1,
                       "because_action": ring[r][best[1]] if best else -1, "because_cosine": best[0] if best else None,
                       "decision_step": t, "arrival_step": t, "item_id": str(a),
                       "feedback_kind": KINDS[int(res.kind[r])] if answered else KINDS[3]}
                for c in ORDER:
                    rows[c].append(row[c])
            liked = int(acts[r, 0]) if k == 1 else int(acts[r, res.position[r]]) if res.position[r] >= 0 else -1
            if int(res.kind[r]) in POSITIVE_CODES and liked >= 0:
                ring[r][nxt[r] % 8] = liked
                nxt[r] += 1
        obs = res.observation
    return {c: v[:cap] for c, v in rows.items()}


@pytest.mark.parametrize("agent,slate,max_rows", [
    ({"name": "epsilon_greedy"}, 1, 10_000),          # every step logged
    ({"name": "beta_ts", "params": {"n_propensity_draws": 8}}, 1, 100),  # cut in the middle of step 6
    ({"name": "linucb"}, 3, 250),                      # slates, cut in the middle of step 5
    ({"name": "random"}, 2, 16 * 2 * 4),              # cut exactly at a step's end
])
def test_log_equals_the_rows_written_by_hand(agent, slate, max_rows):
    prep = _prep(agent, slate, max_rows)
    got = play_cell(prep, Cell(agent_index=0, seed_index=1, agent_label="a"))["log"]
    want = _by_hand(prep, 1)
    assert got.column_names == ORDER
    assert got.num_rows == min(max_rows, 16 * 12 * slate)
    for name, typ in TYPES.items():
        assert got.schema.field(name).type == typ, name
    have = got.to_pydict()
    for c in ORDER:
        if c in ("because_cosine", "why_exploit", "why_explore"):
            a = np.array([np.nan if v is None else v for v in have[c]], dtype=float)
            b = np.array([np.nan if v is None else v for v in want[c]], dtype=float)
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, err_msg=c)
        else:
            assert have[c] == want[c], c
    assert any(v >= 0 for v in have["because_action"])  # the reasons were exercised, not all "none"


def test_log_off_or_empty_budget_writes_no_log_and_keeps_the_metrics():
    agent = {"name": "epsilon_greedy"}
    on = play_cell(_prep(agent, 1, 50), Cell(0, "a", 0))
    for prep in (_prep(agent, 1, 0), _prep(agent, 1, 50, enabled=False)):
        off = play_cell(prep, Cell(0, "a", 0))
        assert off["log"] is None
        assert off["metrics"].equals(on["metrics"])  # logging (explanations included) changes no decision


def test_log_buffer_cuts_widens_and_refuses_other_columns():
    log = LogBuffer(7)
    log.add(3, {"a": np.array([1, 2, 3], dtype=np.int8), "b": 0.5})
    log.add(3, {"a": np.array([300, 4, 5], dtype=np.int16), "b": np.array([1.0, 2.0, 3.0])})  # widens a to int16
    with pytest.raises(ValueError, match="differ from the first step"):
        log.add(3, {"a": np.zeros(3, np.int8)})
    with pytest.raises(ValueError, match="2 rows in a step of 3"):
        log.add(3, {"a": np.zeros(2, np.int8), "b": np.zeros(2)})
    log.add(3, {"a": np.array([6, 7, 8], dtype=np.int8), "b": 9.0})  # one row fits
    log.add(3, {"a": np.array([9, 9, 9], dtype=np.int8), "b": 9.0})  # full: nothing
    cols = log.columns()
    assert log.full and cols["a"].dtype == np.int16
    assert cols["a"].tolist() == [1, 2, 3, 300, 4, 5, 6] and cols["b"].tolist() == [0.5] * 3 + [1.0, 2.0, 3.0, 9.0]
    assert np.concatenate([np.array([1, 2, 3], np.int8), np.array([300], np.int16)]).dtype == cols["a"].dtype
