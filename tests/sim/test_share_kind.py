"""The share kind end to end: reward map, config, world, agents and OPE (#19 item 2)."""

import numpy as np
import pytest

from banditsim.envs.feedback import FeedbackModel, kind_probabilities
from banditsim.envs.feedback_kinds import KINDS, SAVE, SHARE, reward_vector
from banditsim.envs.world import World
from banditsim.envs.world_config import WorldConfig
from tests.sim.tiny_world import tiny_items, tiny_population


def test_reward_vector_takes_share():
    assert reward_vector({"share": 1})[SHARE] == 1.0
    assert reward_vector({"share": 2.5}).tolist() == [-1.0, -0.5, -0.1, 0.0, 0.5, 1.0, 1.0, 2.5]
    assert KINDS[SHARE] == "share" and SHARE == SAVE + 1  # codes 0..6 unchanged


def test_config_reward_map_and_cut_point():
    from banditsim.sim.config.run_config import RunConfig
    from banditsim.sim.config.errors import ConfigError

    cfg = RunConfig.model_validate({"world": {"reward_map": {"share": 2.0}}})
    assert cfg.world.reward_map["share"] == 2.0 and cfg.world.reward_map["save"] == 1.0
    assert RunConfig().world.reward_map["share"] == 1.0
    with pytest.raises((ConfigError, ValueError), match="share_offset must be above outer_offset"):
        RunConfig.model_validate({"world": {"feedback": {"share_offset": 1.5}}})
    with pytest.raises((ConfigError, ValueError), match="unknown feedback kind 'retweet'"):
        RunConfig.model_validate({"world": {"reward_map": {"retweet": 1.0}}})


def _world(reward_map=None, share_offset=3.0, n_users=4000, seed=3):
    x = tiny_items(12)
    cfg = WorldConfig(reward_map=reward_map, feedback=FeedbackModel(share_offset=share_offset))
    return World(x, tiny_population(x), n_users=n_users, config=cfg, seed=seed)


def test_world_answers_share_with_its_reward_and_exact_value():
    w = _world({"share": 2.0})
    w.reset()
    best, _ = w.best_items()
    e_before = w.expected_rewards()[np.arange(w.n_users), best]
    res = w.step(best)
    assert (res.kind == SHARE).sum() > 50, "the best items draw some share answers"
    assert (res.reward[res.kind == SHARE] == 2.0).all()
    np.testing.assert_allclose(res.expected_reward_chosen, e_before, atol=1e-9)
    # expected reward = Σ P(kind)·r with the share probability from the cut point tau_pos + 3T
    w1, w2 = _world({"share": 1.0}), _world({"share": 2.0})
    w1.reset(), w2.reset()
    p_share = w2.expected_rewards() - w1.expected_rewards()  # r_share 2 vs 1: the difference is P(share)
    assert (p_share >= -1e-12).all() and (p_share <= 1 + 1e-12).all() and p_share.max() > 0.01
    p_best = p_share[np.arange(w.n_users), best]  # the same people in the same state as w's step
    sd = np.sqrt((p_best * (1 - p_best)).sum()) / w.n_users
    assert abs((res.kind == SHARE).mean() - p_best.mean()) < 4 * sd


def test_configs_without_share_behave_as_before_apart_from_share_answers():
    """Same seed, share cut point pushed out of reach (the old seven-kind model) vs the default:
    identical rewards and regret; kinds differ only where the old save is now share."""
    old, new = _world(share_offset=1e6), _world()
    old.reset(), new.reset()
    rng = np.random.default_rng(0)
    shares = 0
    for _ in range(5):
        a = rng.integers(0, 12, old.n_users)
        r_old, r_new = old.step(a), new.step(a)
        np.testing.assert_array_equal(r_old.reward, r_new.reward)
        np.testing.assert_array_equal(r_old.regret, r_new.regret)
        moved = r_old.kind != r_new.kind
        assert (r_old.kind[moved] == SAVE).all() and (r_new.kind[moved] == SHARE).all()
        assert (r_old.kind != SHARE).all()
        shares += moved.sum()
    assert shares > 0


def test_share_probability_is_the_top_tail():
    cuts = FeedbackModel().cut_points(np.array([-1.0]), np.array([1.0]), np.array([0.5]))
    p = kind_probabilities(np.array([2.0]), cuts, np.array([0.5]))[0]
    assert p[SHARE] == pytest.approx(1 / (1 + np.exp(-(2.0 - 2.5) / 0.5)))  # σ((u − (τ⁺ + 3T))/T)


@pytest.mark.parametrize("name", ["dirichlet_ts", "beta_ts", "logistic_ts"])
def test_agents_learn_from_share(name):
    from banditsim.agents import Context, Feedback, make_agent

    x = tiny_items(6)
    values = reward_vector({"share": 2.0})
    agent = make_agent(name, 6, kind_values=values.tolist(), random_state=0)
    ctx = Context(features=np.zeros((4, 2), np.float32), arm_features=x.astype(np.float64), mask=np.ones((4, 6), bool))
    d = agent.act(ctx)
    kind = np.full(4, SHARE)
    agent.update(ctx, d, Feedback(reward=values[kind], kind=kind, position=np.zeros(4, np.int64)))
    if name == "dirichlet_ts":
        assert agent.counts.shape[-1] == len(KINDS)
        assert agent.counts[0, d.actions, SHARE].min() > agent.alpha_prior


def test_ope_on_a_share_reward_map():
    from banditsim.sim.offline.config import OPEConfig
    from banditsim.sim.offline.experiment import run_ope_experiment
    from tests.sim.test_ope_experiment import TARGETS

    cfg = OPEConfig.model_validate({
        "catalog": {"source": "tiny.csv"}, "population": {"kind": "clusters"}, "world": {"n_users": 200},
        "logging": {"label": "log", "kind": "ridge", "temperature": 0.2, "epsilon": 0.2},
        "targets": [t.model_dump() for t in TARGETS[:1]],
        "experiment": {"warmup_steps": 8, "log_steps": 20, "max_rows": 4000, "item_dims": 6}})
    x = tiny_items()
    res = run_ope_experiment(cfg, x, tiny_population(x), WorldConfig(reward_map={"share": 3.0}))
    assert (res.log.reward == 3.0).any(), "share answers carry their own reward into the log"
    assert abs(res.logging["true_value"] - res.logging["mean_reward"]) < 0.08
    ips = next(r for r in res.rows if r["estimator"] == "ips")
    assert ips["covers"], ips
