"""Delayed feedback (issue #21 item 1): delays per kind, the arrival queue, the log and the metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from banditsim.agents import AGENTS, Context, Feedback, make_agent
from banditsim.sim.run.cells import Cell
from banditsim.sim.cli import main
from banditsim.sim.config.run_config import validate_config
from banditsim.sim.config.delay import KIND_NAMES, DelaySpec, FeedbackDelaySection
from banditsim.sim.run.feedback_delay import DelaySampler, FeedbackSchedule, delay_quantile, delay_seed
from banditsim.sim.run.play import play_cell
from tests.sim.test_notebook_helpers import tiny_prep

torch.set_num_threads(1)
CLICK, SAVE = KIND_NAMES.index("click"), KIND_NAMES.index("save")


# ----------------------------------------------------------------------------- validation: one line, exit 2
BAD_SETTINGS = [
    (["feedback_delay.save.steps=-3"], "feedback_delay.save.steps: Input should be greater than or equal to 0"),
    (["feedback_delay.default.dist=fixed", "feedback_delay.default.steps=-1"], "feedback_delay.default.steps"),
    (["feedback_delay.click.dist=geometric", "feedback_delay.click.mean=-0.5"], "feedback_delay.click.mean"),
    (["feedback_delay.click.dist=lognormal", "feedback_delay.click.median=0", "feedback_delay.click.sigma=1"],
     "feedback_delay.click.median: Input should be greater than 0"),
    (["run.update_every=0"], "run.update_every: Input should be greater than or equal to 1"),
    (["run.update_every=-4"], "run.update_every"),
    (["run.update_every=2.5"], "run.update_every"),
    (["feedback_delay.save.dist=weibull"], "Input should be 'fixed', 'geometric' or 'lognormal'"),
    (["feedback_delay.clik.steps=2"], "unknown feedback kind 'clik'; did you mean 'click'?"),
    (["feedback_delay.purchase.steps=2"], "unknown feedback kind 'purchase'"),
    (["feedback_delay.click.dist=geometric", "feedback_delay.click.mean=.inf"], "feedback_delay.click.mean: Input "
                                                                                "should be a finite number"),
    (["feedback_delay.save.dist=lognormal", "feedback_delay.save.median=nan", "feedback_delay.save.sigma=1"],
     "feedback_delay.save.median: Input should be a finite number"),
    (["feedback_delay.save.dist=lognormal", "feedback_delay.save.median=20", "feedback_delay.save.sigma=inf"],
     "feedback_delay.save.sigma: Input should be a finite number"),
    (["feedback_delay.save.dist=lognormal", "feedback_delay.save.median=20"], "dist 'lognormal' needs 'median' and "
                                                                              "'sigma' (missing 'sigma')"),
    (["feedback_delay.save.dist=geometric", "feedback_delay.save.steps=3"], "'steps' does not apply to dist "
                                                                            "'geometric'"),
    (["feedback_delay.save.steps=two"], "feedback_delay.save.steps: Input should be a valid integer"),
    (["feedback_delay.save.stepz=2"], "unknown key 'feedback_delay.save.stepz'; did you mean 'steps'?"),
]


@pytest.mark.parametrize("settings, message", BAD_SETTINGS, ids=[s[0][0] for s in BAD_SETTINGS])
def test_bad_delay_or_cadence_is_one_error_line(tmp_path, capsys, settings, message):
    out = tmp_path / "results"
    argv = ["run", "--out", str(out), "--quiet"] + [x for s in settings for x in ("--set", s)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err, err
    assert "\n" not in err and "Traceback" not in err
    assert not out.exists()


def test_good_sections_validate():
    cfg = validate_config({"feedback_delay": {"default": {"dist": "geometric", "mean": 2},
                                              "save": {"dist": "lognormal", "median": 20, "sigma": 1},
                                              "click": {"steps": 0}}, "run": {"update_every": 5}})
    assert cfg.run.update_every == 5
    assert cfg.feedback_delay.spec_for("skip").dist == "geometric"
    assert cfg.feedback_delay.spec_for("click").is_zero() and not cfg.feedback_delay.is_zero()
    assert validate_config({"feedback_delay": {"default": {"dist": "geometric", "mean": 0}}}).feedback_delay.is_zero()


# ----------------------------------------------------------------------------- the distributions
U = np.random.default_rng(3).random(20_000).clip(1e-12)


@pytest.mark.parametrize("mean", [0.3, 2.0, 7.5, 150.0])
def test_geometric_quantile_is_scipys(mean):
    from scipy import stats

    got = delay_quantile(DelaySpec(dist="geometric", mean=mean), U)
    np.testing.assert_array_equal(got, stats.geom.ppf(U, 1 / (1 + mean), loc=-1))
    assert abs(got.mean() - mean) < 0.05 * mean + 0.02


@pytest.mark.parametrize("median, sigma", [(20.0, 1.0), (3.0, 0.25), (0.7, 2.0)])
def test_lognormal_quantile_is_scipys_rounded(median, sigma):
    from scipy import stats

    got = delay_quantile(DelaySpec(dist="lognormal", median=median, sigma=sigma), U)
    np.testing.assert_array_equal(got, np.rint(stats.lognorm.ppf(U, sigma, scale=median)))
    assert np.median(got) == pytest.approx(np.rint(median), abs=1)


def test_sampler_draws_each_kinds_own_distribution():
    section = FeedbackDelaySection.model_validate({"default": {"dist": "fixed", "steps": 4},
                                                   "click": {"dist": "geometric", "mean": 2},
                                                   "save": {"dist": "lognormal", "median": 20, "sigma": 1}})
    kinds = np.random.default_rng(0).integers(0, len(KIND_NAMES), 30_000)
    d = DelaySampler(section, delay_seed(0, 0), cap=10**6).draw(kinds)
    assert d.dtype == np.int64 and (d >= 0).all()
    other = ~np.isin(kinds, [CLICK, SAVE])
    assert (d[other] == 4).all()
    assert d[kinds == CLICK].mean() == pytest.approx(2.0, abs=0.1)
    assert np.median(d[kinds == SAVE]) == pytest.approx(20, abs=1.5)
    capped = DelaySampler(section, delay_seed(0, 0), cap=10).draw(kinds)
    np.testing.assert_array_equal(capped, np.minimum(d, 10))  # same stream, clipped


def test_delay_settings_share_their_random_numbers():
    """One uniform per answer: a longer median gives every answer a delay at least as long."""
    kinds = np.full(5000, SAVE)
    short = FeedbackDelaySection.model_validate({"save": {"dist": "lognormal", "median": 5, "sigma": 1}})
    long = FeedbackDelaySection.model_validate({"save": {"dist": "lognormal", "median": 20, "sigma": 1}})
    a = DelaySampler(short, delay_seed(0, 1), cap=10**6).draw(kinds)
    b = DelaySampler(long, delay_seed(0, 1), cap=10**6).draw(kinds)
    assert (b >= a).all() and (b > a).mean() > 0.9
    c = DelaySampler(short, delay_seed(0, 2), cap=10**6).draw(kinds)
    assert (a != c).mean() > 0.5  # another seed index, another stream


# ----------------------------------------------------------------------------- the queue
def _ctx(n, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return Context(features=rng.normal(size=(n, d)), mask=rng.random((n, 6)) < 0.8)


def test_answers_arrive_after_their_delay_in_order():
    delays = {0: np.array([0, 2, 1, 5]), 1: np.array([1, 0, 0, 0]), 2: np.array([0, 0, 9, 0])}
    sched = FeedbackSchedule(horizon=6, sampler=lambda kind: delays[int(kind[0])])
    seen = []
    for t in range(3):
        ctx = _ctx(4, seed=t)
        fb = Feedback(reward=t * 10 + np.arange(4.0), kind=np.full(4, t))
        arrival, update = sched.step(t, ctx, np.arange(4) + 10 * t, fb)
        expected = t + delays[t]
        np.testing.assert_array_equal(arrival, np.where(expected < 6, expected, -1))
        seen.append(None if update is None else update[2].reward.tolist())
        if update is not None:  # the rows are the decision step's rows
            ctx_u, actions, fb_u = update
            np.testing.assert_array_equal(actions, fb_u.reward.astype(int))
            assert ctx_u.mask is None and ctx_u.features.shape == (len(actions), 3)
    # t=0: row 0; t=1: row 2 of step 0 (decided first), then rows 1-3 of step 1; t=2: row 1 of step 0,
    # row 0 of step 1, rows 0, 1, 3 of step 2 (row 2's delay 9 is past the horizon)
    assert seen == [[0.0], [2.0, 11.0, 12.0, 13.0], [1.0, 10.0, 20.0, 21.0, 23.0]]
    assert sched.counts() == {"feedback_in_flight": 2, "feedback_buffered": 0}


def test_features_are_those_of_the_decision_step_even_if_the_caller_reuses_its_arrays():
    features = np.ones((2, 3))
    sched = FeedbackSchedule(horizon=5, sampler=lambda kind: np.array([1, 1]))
    ctx = Context(features=features)
    sched.step(0, ctx, np.array([0, 1]), Feedback(reward=[1.0, 0.0], kind=[4, 4]))
    ctx.features[:] = 7.0  # the next step's observation written into the same array
    _, update = sched.step(1, Context(features=np.zeros((2, 3))), np.array([0, 1]), Feedback(reward=[0, 0], kind=[4, 4]))
    np.testing.assert_array_equal(update[0].features, np.ones((2, 3)))


def test_immediate_schedule_hands_over_the_same_objects():
    """The same context, decision and feedback arrays, plus each row's decision step."""
    sched = FeedbackSchedule(horizon=3)
    ctx, fb = _ctx(4), Feedback(reward=np.zeros(4), kind=np.zeros(4, int), position=np.array([0, -1, 0, 0]))
    arrival, update = sched.step(1, ctx, "decision", fb)
    assert update[0] is ctx and update[1] == "decision"
    assert np.shares_memory(update[2].reward, fb.reward) and np.shares_memory(update[2].kind, fb.kind)
    np.testing.assert_array_equal(update[2].position, fb.position)
    assert update[2].step.tolist() == [1, 1, 1, 1]
    np.testing.assert_array_equal(arrival, [1, 1, 1, 1])


def test_delayed_rows_carry_their_decision_steps():
    """A batch of late answers: each row's ``step`` is the step it was decided at, not its arrival."""
    sched = FeedbackSchedule(horizon=10, update_every=3, sampler=lambda kind: np.array([2, 0])[: kind.size])
    got = []
    for t in range(6):
        update = sched.step(t, _ctx(2), np.array([t, t]), Feedback(reward=np.zeros(2), kind=np.zeros(2, int)))[1]
        if update is not None:
            got.append((update[1].tolist(), update[2].step.tolist()))
    # after step 2: row 1 of steps 0-2 (delay 0) and row 0 of step 0 (delay 2, arrives at 2)
    assert got[0] == ([0, 1, 0, 2], [0, 1, 0, 2])
    assert got[1][0] == got[1][1]


# ----------------------------------------------------------------------------- agents and row subsets
UPDATE_CASES = sorted(n for n in AGENTS if n != "neural_linear_ts")  # neural: torch training, slow (see below)


@pytest.mark.parametrize("name", UPDATE_CASES + ["neural_linear_ts"])
def test_no_agent_reads_the_mask_when_it_learns(name):
    """The queue keeps no masks: every agent must learn the same from a row with or without it."""
    from tests.reliability.test_determinism import _float_state

    rng = np.random.default_rng(1)
    n, n_arms = 40, 6
    x, arms = rng.normal(size=(n, 3)), rng.integers(0, n_arms, n)
    mask = rng.random((n, n_arms)) < 0.7
    mask[np.arange(n), arms] = True
    kind = rng.integers(0, 7, n)
    reward = np.array([-1.0, -0.5, -0.1, 0.0, 0.5, 1.0, 1.0])[kind]
    arm_features = rng.normal(size=(n_arms, 4))
    params = dict(AGENTS[name].test_params)
    states = []
    for m in (mask, None):
        agent = make_agent(name, n_arms, random_state=0, **params)
        agent.update(Context(features=x, arm_features=arm_features, mask=m), arms, Feedback(reward=reward, kind=kind))
        states.append(_float_state(agent))
    assert states[0].keys() == states[1].keys()
    for key in states[0]:
        np.testing.assert_array_equal(states[0][key], states[1][key], err_msg=key)


def _loop(world_seed, agent_name, schedule, horizon=25, n_users=8):
    """A tiny world played by one agent through ``schedule``; returns the actions and the agent."""
    from banditsim.envs.world import World
    from banditsim.envs.world_config import WorldConfig
    from tests.sim.tiny_world import tiny_items, tiny_population

    items = tiny_items(24)
    world = World(items, tiny_population(items), n_users=n_users, config=WorldConfig(), seed=world_seed)
    obs = world.reset(seed=world_seed)
    agent = make_agent(agent_name, 24, random_state=5, **dict(AGENTS[agent_name].test_params))
    arm = np.asarray(items, dtype=np.float64)
    actions = []
    for t in range(horizon):
        ctx = Context(features=obs.features, arm_features=arm, mask=obs.mask)
        decision = agent.act(ctx)
        res = world.step(decision.actions)
        _, update = schedule.step(t, ctx, decision, Feedback(reward=res.reward, kind=res.kind, position=res.position))
        if update is not None:
            agent.update(*update)
        actions.append(decision.actions)
        obs = res.observation
    return np.array(actions), agent


@pytest.mark.parametrize("name", ["beta_ts", "dirichlet_ts", "ucb1", "epsilon_greedy", "linucb", "lin_ts",
                                  "logistic_ts"])
def test_queue_with_zero_delays_is_todays_loop(name):
    """The queue's path (copied row subsets, concatenated, no mask) with every delay 0 plays exactly
    as the immediate path: same actions at every step, same learned state."""
    from tests.reliability.test_determinism import _float_state

    a, agent_a = _loop(2, name, FeedbackSchedule(25))
    b, agent_b = _loop(2, name, FeedbackSchedule(25, sampler=lambda kind: np.zeros(kind.shape, np.int64)))
    np.testing.assert_array_equal(a, b)
    sa, sb = _float_state(agent_a), _float_state(agent_b)
    for key in sa:
        np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)


# ----------------------------------------------------------------------------- through play_cell
AGENT_SPECS = [{"name": "beta_ts", "params": {"n_propensity_draws": 8}}, {"name": "linucb"}]


def _cell(cfg: dict, agent_index=0, seed=0):
    base = {"agents": AGENT_SPECS, "world": {"n_users": 16}, "run": {"horizon": 30, "seeds": 1}}
    for key, value in cfg.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return play_cell(tiny_prep(base), Cell(agent_index=agent_index, seed_index=seed, agent_label="a"))


def test_fixed_delay_log_and_in_flight_counts():
    out = _cell({"feedback_delay": {"default": {"dist": "fixed", "steps": 3}}})
    log = out["log"].to_pydict()
    step, arrival = np.array(log["step"]), np.array(log["arrival_step"])
    np.testing.assert_array_equal(np.array(log["decision_step"]), step)
    np.testing.assert_array_equal(arrival, np.where(step + 3 < 30, step + 3, -1))
    m = out["metrics"].to_pydict()
    # after step t, the answers of steps t-2..t are in flight (3 steps x 16 users), fewer at the start
    np.testing.assert_array_equal(m["feedback_in_flight"], np.minimum(np.arange(30) + 1, 3) * 16)
    assert m["feedback_in_flight"][-1] == (arrival == -1).sum() == 48
    assert not any(m["feedback_buffered"])


def test_metrics_stay_about_the_decision():
    """Rewards of a delayed run are those of its decisions at that step (the log's), not the arrivals'."""
    out = _cell({"feedback_delay": {"default": {"dist": "geometric", "mean": 4},
                                    "save": {"dist": "lognormal", "median": 8, "sigma": 1}}}, agent_index=1)
    log, m = out["log"].to_pydict(), out["metrics"].to_pydict()
    step, reward = np.array(log["step"]), np.array(log["reward"])
    per_step = np.bincount(step, weights=reward, minlength=30) / 16
    np.testing.assert_allclose(m["reward"], per_step, rtol=0, atol=1e-12)
    arrival = np.array(log["arrival_step"])
    late = arrival >= 0
    assert (arrival[late] >= step[late]).all() and (arrival[late] < 30).all()
    assert m["feedback_in_flight"][-1] == (~late).sum() > 0


def test_a_delay_past_the_horizon_is_an_agent_that_never_learns():
    """Every answer still in flight at the end = no update at all (update_every past the horizon)."""
    never = _cell({"feedback_delay": {"default": {"dist": "fixed", "steps": 30}}}, agent_index=1)
    silent = _cell({"run": {"update_every": 31}}, agent_index=1)
    learns = _cell({}, agent_index=1)
    keys = ["reward", "regret", "cumulative_regret", "positive_rate"]
    for k in keys:
        np.testing.assert_array_equal(never["metrics"].column(k).to_numpy(), silent["metrics"].column(k).to_numpy())
    assert never["metrics"].column("feedback_in_flight").to_numpy()[-1] == 30 * 16
    assert silent["metrics"].column("feedback_buffered").to_numpy()[-1] == 30 * 16
    assert not np.array_equal(never["metrics"].column("regret").to_numpy(), learns["metrics"].column("regret").to_numpy())


def test_the_delay_stream_leaves_world_and_agent_numbers_alone():
    """Step 0 is decided before anything is learned: with or without delays, the same users, actions
    and answers (the world and the agent draw from their own streams)."""
    a = _cell({}, agent_index=0)["log"].to_pydict()
    b = _cell({"feedback_delay": {"default": {"dist": "geometric", "mean": 3}}}, agent_index=0)["log"].to_pydict()
    first = np.array(a["step"]) == 0
    for key in ("context_id", "action", "reward", "feedback_kind"):
        np.testing.assert_array_equal(np.array(a[key])[first], np.array(b[key])[first], err_msg=key)


def test_fixed_delay_is_the_loop_by_hand():
    """play_cell with every answer 4 steps late = acting, stepping and updating step t with step t-4's
    rows, written out by hand: the same regret at every step, bit for bit."""
    from banditsim.sim.run.play import build_agent, start_world

    prep = tiny_prep({"agents": AGENT_SPECS, "world": {"n_users": 16}, "run": {"horizon": 30, "seeds": 1},
                      "feedback_delay": {"default": {"dist": "fixed", "steps": 4}}, "log": {"enabled": False}})
    for agent_index in range(len(AGENT_SPECS)):
        got = play_cell(prep, Cell(agent_index=agent_index, seed_index=0, agent_label="a"))
        world, obs = start_world(prep, 0)
        agent = build_agent(prep, agent_index, 0)
        arm = prep.item_vectors.astype(np.float64)
        arm.setflags(write=False)
        sent, regret = [], []
        for t in range(30):
            ctx = Context(features=obs.features, arm_features=arm, mask=obs.mask)
            decision = agent.act(ctx)
            res = world.step(decision.actions)
            sent.append((Context(features=ctx.features, arm_features=arm), decision.actions,
                         Feedback(reward=res.reward, kind=res.kind, position=res.position)))
            if t >= 4:
                agent.update(*sent[t - 4])
            regret.append(res.regret.mean())
            obs = res.observation
        np.testing.assert_array_equal(got["metrics"].column("regret").to_numpy(), regret)


# ----------------------------------------------------------------------------- expected directions
def _regret(agent: dict, extra: dict, seeds=3) -> np.ndarray:
    """Cumulative regret at the horizon, per seed, of one agent on the small seeded world."""
    cfg = {"agents": [agent], "world": {"n_users": 16}, "run": {"horizon": 60, "seeds": seeds},
           "log": {"enabled": False}, **extra}
    prep = tiny_prep(cfg)
    return np.array([play_cell(prep, Cell(agent_index=0, seed_index=s, agent_label="a"))["metrics"]
                     .column("cumulative_regret").to_numpy()[-1] for s in range(seeds)])


def _fixed(steps: int) -> dict:
    return {"feedback_delay": {"default": {"dist": "fixed", "steps": steps}}}


def test_longer_delays_cost_regret():
    """lin_ts (60 steps, 3 seeds; measured 26 / 30 / 43 / 49 for delays 0 / 8 / 30 / never) and linucb,
    which a deterministic index makes far more sensitive (23 -> 46 at delay 8)."""
    ts = {d: _regret({"name": "lin_ts"}, _fixed(d)) for d in (0, 8, 30)}
    assert ts[0].mean() + 1 < ts[8].mean() < ts[30].mean() - 5
    assert (ts[30] > ts[0]).all()  # seed by seed (common random numbers)
    ucb = {d: _regret({"name": "linucb"}, _fixed(d)) for d in (0, 8)}
    assert (ucb[8] > ucb[0] + 10).all()



def test_explicit_zero_delays_are_todays_run():
    """A quickstart-sized run (64 users, 100 steps, the six default agents) on the small world: every
    way of writing 'no delay' gives metrics equal to the run without the section."""
    base = {"world": {"n_users": 64}, "run": {"horizon": 100, "seeds": 1}, "log": {"enabled": False}}
    zero = {**base, "run": {**base["run"], "update_every": 1},
            "feedback_delay": {"default": {"dist": "geometric", "mean": 0}, "save": {"dist": "fixed", "steps": 0},
                               "click": {"steps": 0}}}
    a, b = tiny_prep(base), tiny_prep(zero)
    assert b.config.feedback_delay.is_zero() and b.config.feedback_delay != a.config.feedback_delay
    for i, spec in enumerate(a.config.agents):
        cell = Cell(agent_index=i, seed_index=0, agent_label=spec.label)
        ma, mb = play_cell(a, cell)["metrics"], play_cell(b, cell)["metrics"]
        assert ma.column_names == mb.column_names
        for name in ma.column_names:  # bit for bit (NaN where a metric has no rows equals NaN)
            x, y = ma.column(name).to_numpy(zero_copy_only=False), mb.column(name).to_numpy(zero_copy_only=False)
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), (spec.label, name)
        assert not any(ma.column("feedback_in_flight").to_numpy())


def test_summary_reports_the_answers_never_delivered():
    import pyarrow as pa

    from banditsim.sim.report.summary import summarise

    def summary(extra):
        prep = tiny_prep({"agents": AGENT_SPECS, "world": {"n_users": 16}, "run": {"horizon": 30, "seeds": 2},
                          "log": {"enabled": False}, **extra})
        tables = [play_cell(prep, Cell(agent_index=a, seed_index=s, agent_label=f"a{a}"))["metrics"]
                  for a in range(2) for s in range(2)]
        metrics = pa.concat_tables(tables)
        return summarise({c: metrics.column(c).to_numpy(zero_copy_only=False) for c in metrics.column_names}), metrics

    late, metrics = summary({"feedback_delay": {"default": {"dist": "geometric", "mean": 6}}})
    for agent in ("a0", "a1"):
        rows = metrics.filter(pa.compute.and_(pa.compute.equal(metrics["agent"], agent),
                                              pa.compute.equal(metrics["step"], 29)))
        fig = late[agent]["feedback_in_flight"]
        assert fig["per_seed"] == rows.column("feedback_in_flight").to_pylist() and min(fig["per_seed"]) > 0
        assert fig["low"] <= fig["mean"] <= fig["high"]
    on_time, _ = summary({})
    assert all("feedback_in_flight" not in figs for figs in on_time.values())
