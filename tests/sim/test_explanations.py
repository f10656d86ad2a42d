"""Explanations: the agents' score split (Decision.explanation) and the most similar liked item."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.agents import Context, Feedback
from banditsim.agents.registry import AGENTS, make_agent
from banditsim.sim.report.explanations import Explainer, LikedItems, liked_item_of, why_columns

# a tiny catalog where the answer is known: items 0..3 on the unit circle at 0°, 30°, 90°, 180°
ANGLES = np.deg2rad([0.0, 30.0, 90.0, 180.0])
CIRCLE = np.c_[np.cos(ANGLES), np.sin(ANGLES)] * np.array([[1.0], [2.0], [3.0], [0.5]])  # lengths do not matter


def test_nearest_liked_item_on_a_known_catalog():
    liked = LikedItems(CIRCLE, n_rows=3, k=4)
    users = np.array([10, 11, 12])
    # before anything is liked: no reason
    item, cos = liked.nearest(users, np.array([[1], [1], [1]]))
    assert item.tolist() == [[-1], [-1], [-1]] and np.isnan(cos).all()
    liked.observe(users, np.array([0, 2, 3]), np.array([True, True, False]))  # row 2 did not like item 3
    item, cos = liked.nearest(users, np.array([[1], [1], [1]]))
    assert item[:, 0].tolist() == [0, 2, -1]
    np.testing.assert_allclose(cos[:2, 0], [np.cos(np.deg2rad(30)), np.cos(np.deg2rad(60))], atol=1e-6)
    # row 0 likes 2 and 3 too: for item 1 the nearest is still 0 (30°), for item 3 it is 2 (90°),
    # never item 3 itself
    liked.observe(users, np.array([2, 0, 0]), np.array([True, False, False]))
    liked.observe(users, np.array([3, 0, 0]), np.array([True, False, False]))
    item, cos = liked.nearest(users, np.array([[1, 3], [3, 0], [0, 1]]))
    assert item[0].tolist() == [0, 2]
    np.testing.assert_allclose(cos[0], [np.cos(np.deg2rad(30)), 0.0], atol=1e-6)
    assert item[1].tolist() == [2, 2]  # slate items of row 1: its one liked item, 90° from both
    np.testing.assert_allclose(cos[1], [0.0, 0.0], atol=1e-6)


def test_history_is_a_ring_of_the_last_k_and_follows_the_person():
    liked = LikedItems(CIRCLE, n_rows=1, k=2)
    for it in (0, 2, 3):  # k = 2: item 0 is forgotten
        liked.observe(np.array([5]), np.array([it]), np.array([True]))
    item, cos = liked.nearest(np.array([5]), np.array([[1]]))
    assert item.tolist() == [[2]]  # 0 (30°) was forgotten; 2 is 60° away, 3 is 150°
    # another person takes the row: nothing liked yet
    item, cos = liked.nearest(np.array([6]), np.array([[1]]))
    assert item.tolist() == [[-1]] and np.isnan(cos).all()
    # the responded item of a slate, none when nobody answered
    assert liked_item_of(np.array([[1, 2], [3, 0]]), np.array([0, -1])).tolist() == [1, -1]
    liked.observe(np.array([6]), np.array([-1]), np.array([True]))  # positive but no item: ignored
    assert (liked.items == -1).all()


EXPLAINED = {"ucb1", "kl_ucb", "linucb", "lin_ts", "beta_ts", "gaussian_ts", "epsilon_greedy"}


def _history(agent, rng, n_rows, d, items, steps=6):
    for _ in range(steps):
        ctx = Context(features=rng.normal(size=(n_rows, d)), arm_features=items)
        act = agent.act(ctx)
        agent.update(ctx, act, Feedback(reward=rng.uniform(-0.5, 1.0, n_rows)))


@pytest.mark.parametrize("slate", [1, 3])
@pytest.mark.parametrize("name", sorted(AGENTS))
def test_explaining_changes_no_decision(name, slate):
    """Every registered agent: the same seed gives the same actions and propensities with explanations
    on or off (an agent whose split and index disagree would act differently when explaining); off, no
    explanation is computed; on, every array has the shape of the actions."""
    n_rows, n_arms, d = 12, 9, 3
    items = np.random.default_rng(5).normal(size=(n_arms, 4))
    out = []
    for explain in (False, True):
        agent = make_agent(name, n_arms, slate_size=slate, random_state=4, **AGENTS[name].test_params)
        rng = np.random.default_rng(0)
        _history(agent, rng, n_rows, d, items)
        agent.explain = explain
        mask = rng.random((n_rows, n_arms)) < 0.8
        mask[:, :slate] = True
        dec = agent.act(Context(features=rng.normal(size=(n_rows, d)), arm_features=items, mask=mask))
        out.append(dec)
    off, on = out
    np.testing.assert_array_equal(off.actions, on.actions)
    np.testing.assert_allclose(off.propensities, on.propensities)
    assert off.explanation is None
    if name in EXPLAINED and not (name == "lin_ts" and slate > 1):  # linear TS slates keep no split (documented)
        assert set(on.explanation) >= {"exploit", "explore"}
    for v in (on.explanation or {}).values():
        assert v.shape == on.actions.shape
    if name == "epsilon_greedy":
        assert on.explanation["random"].dtype == bool


def test_ucb1_split_is_mean_plus_bonus():
    agent = make_agent("ucb1", 3, random_state=0, c=1.0)
    agent.update(None, np.array([0, 0, 1, 2]), Feedback(reward=[1.0, 0.0, 0.5, 0.2]))
    agent.explain = True
    dec = agent.act()
    a = int(dec.actions[0])
    counts, sums = np.array([2, 1, 1.0]), np.array([1.0, 0.5, 0.2])
    bonus = np.sqrt(2 * np.log(4) / counts)
    assert a == int(np.argmax(sums / counts + bonus)) == 1
    assert dec.explanation["exploit"][0] == pytest.approx(0.5)
    assert dec.explanation["explore"][0] == pytest.approx(np.sqrt(2 * np.log(4)))
    agent = make_agent("ucb1", 3, random_state=0)
    agent.explain = True
    dec = agent.act()  # nothing pulled: infinite bonus, no estimate
    assert np.isinf(dec.explanation["explore"][0]) and np.isnan(dec.explanation["exploit"][0])


def test_linucb_split_is_ridge_estimate_plus_width():
    rng = np.random.default_rng(1)
    agent = make_agent("linucb", 2, alpha=0.5, random_state=0, ridge=1.0)
    x = rng.normal(size=(20, 2))
    arms = np.arange(20) % 2
    r = rng.normal(size=20)
    agent.update(Context(features=x), arms, Feedback(reward=r))
    agent.explain = True
    xq = np.array([[0.3, -1.2]])
    dec = agent.act(Context(features=xq))
    a = int(dec.actions[0])
    design = np.c_[x, np.ones(20)][arms == a]
    cov = np.linalg.inv(np.eye(3) + design.T @ design)
    theta = cov @ design.T @ r[arms == a]
    z = np.r_[xq[0], 1.0]
    assert dec.explanation["exploit"][0] == pytest.approx(z @ theta, rel=1e-5)
    assert dec.explanation["explore"][0] == pytest.approx(0.5 * np.sqrt(z @ cov @ z), rel=1e-4)


def test_thompson_and_epsilon_greedy_splits():
    agent = make_agent("beta_ts", 2, random_state=0, n_propensity_draws=8)
    agent.update(None, np.array([0, 0, 1]), Feedback(reward=[1.0, 1.0, 0.0]))  # Beta(3, 1), Beta(1, 2)
    agent.explain = True
    dec = agent.act()
    a, b = (3.0, 1.0) if dec.actions[0] == 0 else (1.0, 2.0)
    assert dec.explanation["exploit"][0] == pytest.approx(a / (a + b))
    assert dec.explanation["explore"][0] == pytest.approx(np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))))
    eg = make_agent("epsilon_greedy", 4, epsilon=0.5, random_state=3)
    eg.update(None, np.array([2]), Feedback(reward=[0.8]))
    eg.explain = True
    dec = eg.act(Context(n_rows=400))
    greedy = ~dec.explanation["random"]
    assert (dec.actions[greedy] == 2).all() and 150 < greedy.sum() < 250
    np.testing.assert_allclose(dec.explanation["exploit"], np.where(dec.actions == 2, 0.8, 0.0))


def test_explainer_columns_and_switch_off():
    agent = make_agent("epsilon_greedy", 4, epsilon=0.5, random_state=3)
    positive = np.array([False, False, False, False, True])  # kind 4 means "liked"
    ex = Explainer(agent, CIRCLE, n_rows=2, positive=positive)
    assert agent.explain
    users = np.array([1, 2])
    dec = agent.act(Context(n_rows=2))
    cols = ex.columns(users, dec, kind=np.array([4, 0]), position=np.array([0, 0]))
    assert set(cols) == {"why_exploit", "why_explore", "why_random", "because_action", "because_cosine"}
    assert cols["because_action"].tolist() == [-1, -1]  # nothing liked before this step
    assert ex.liked.items[0, 0] == dec.actions[0] and ex.liked.items[1, 0] == -1
    ex.stop()
    assert not agent.explain and agent.act(Context(n_rows=2)).explanation is None
    none = why_columns(make_agent("random", 4).act(Context(n_rows=2)), 1, 2)
    assert np.isnan(none["why_exploit"]).all() and (none["why_random"] == -1).all()
