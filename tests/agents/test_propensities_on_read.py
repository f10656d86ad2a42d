"""Thompson propensities drawn on read (agents._thompson.frozen_slots): actions never depend on
whether propensities were read, and a late read sees the posterior the agent acted with."""

import numpy as np
import pytest

from banditsim.agents import Context, Feedback, make_agent

CONTEXT_FREE = ["beta_ts", "gaussian_ts", "dirichlet_ts"]


def _play(name, read: bool, mask: bool, steps=40):
    agent = make_agent(name, 12, n_replicas=3, random_state=11, n_propensity_draws=16)
    rng = np.random.default_rng(0)
    rates = np.linspace(0.1, 0.6, 12)
    actions, props = [], []
    for _ in range(steps):
        ctx = Context(replica=np.repeat(np.arange(3), 4),
                      mask=(rng.random((12, 12)) < 0.7) | (np.arange(12) == 0) if mask else None)
        d = agent.act(ctx)
        win = rng.random(12) < rates[d.actions]
        agent.update(ctx, d, Feedback(reward=win.astype(float), kind=np.where(win, 6, 2)))
        actions.append(d.actions)
        if read:
            props.append(d.propensities)
    return np.array(actions), props


@pytest.mark.parametrize("mask", [False, True])
@pytest.mark.parametrize("name", CONTEXT_FREE)
def test_reading_propensities_never_changes_the_actions(name, mask):
    read, props = _play(name, True, mask)
    unread, _ = _play(name, False, mask)
    np.testing.assert_array_equal(read, unread)
    p = np.array(props)
    assert np.all((p > 0) & (p <= 1))


@pytest.mark.parametrize("name", CONTEXT_FREE)
def test_a_late_read_sees_the_posterior_the_agent_acted_with(name):
    """Read after an update that makes arm 0 certain to lose: the estimate still matches the
    posterior at act time (arm 0 the clear favourite there), not the updated one."""
    agent = make_agent(name, 3, random_state=2, n_propensity_draws=400)
    one = Context(n_rows=1)

    def feed(arm, good, times):
        for _ in range(times):
            agent.update(one, np.array([arm]), Feedback(reward=np.array([1.0 if good else 0.0]),
                                                        kind=np.array([6 if good else 2])))

    feed(0, True, 200)
    for arm in (1, 2):
        feed(arm, True, 50)
        feed(arm, False, 50)
    d = agent.act(one)
    feed(0, False, 2000)  # arm 0 now loses badly
    assert d.probabilities[0, 0] > 0.9 and d.actions[0] == 0 and d.propensities[0] > 0.9
    np.testing.assert_allclose(d.probabilities.sum(), 1.0)
    assert agent.act(one).probabilities[0, 0] < 0.1  # a fresh decision sees the update


@pytest.mark.parametrize("name", [*CONTEXT_FREE, "epsilon_greedy", "ucb1", "kl_ucb"])
def test_a_late_read_sees_the_mask_the_agent_acted_with(name):
    """The world hands out a view of its mask and changes it in place when it steps (blocks,
    new sessions): propensities and probabilities read after that describe the act's mask."""
    def decide(mutate: bool):
        agent = make_agent(name, 6, random_state=5, **({"n_propensity_draws": 64} if name in CONTEXT_FREE else {}))
        agent.update(None, np.array([0, 1, 2, 3]), Feedback(reward=np.array([1.0, 0.0, 1.0, 0.0])))
        mask = np.ones((2, 6), dtype=bool)
        mask[:, 0] = mask[1, 2] = False
        d = agent.act(Context(mask=mask.view()))
        if mutate:
            mask[:] = False
            mask[:, 0] = True  # now only the item that was blocked at act time
        return d.actions, d.propensities, d.probabilities

    acted, late = decide(False), decide(True)
    np.testing.assert_array_equal(acted[0], late[0])
    np.testing.assert_array_equal(acted[1], late[1])
    if acted[2] is not None:
        np.testing.assert_array_equal(acted[2], late[2])
        assert np.all(late[2][:, 0] == 0) and np.all(late[2][1, 2] == 0)


def _shared_play(name, read: bool, backend: str = "numpy", steps=25):
    """Shared-mode linear Thompson agents on 9 items with 4-dim embeddings, masks changing in place."""
    rng = np.random.default_rng(3)
    items = rng.normal(size=(9, 4))
    agent = make_agent(name, 9, mode="shared", arm_dim=3, n_replicas=2, random_state=4, n_propensity_draws=32,
                       backend=backend)
    mask = np.ones((6, 9), dtype=bool)
    out = []
    for _ in range(steps):
        mask[:] = rng.random((6, 9)) < 0.8
        mask[:, 0] = True
        ctx = Context(features=rng.normal(size=(6, 2)), arm_features=items, mask=mask.view(),
                      replica=np.array([0, 0, 0, 1, 1, 1]))
        d = agent.act(ctx)
        if read:
            immediate = (d.propensities.copy(), d.probabilities.copy())
        reward = rng.random(6) < 0.3
        agent.update(ctx, d, Feedback(reward=reward.astype(float), kind=np.where(reward, 6, 2)))
        out.append((d, immediate if read else None))
        mask[:] = False  # the caller reuses its mask array (as the world does)
        mask[:, 0] = True
    return out


@pytest.mark.parametrize(("name", "backend"), [("lin_ts", "numpy"), ("logistic_ts", "numpy"), ("lin_ts", "torch")])
def test_shared_linear_ts_propensities_on_read(name, backend):
    """Actions do not depend on reading; a read after the update and the mask change (twin
    run, same seed) gives what an immediate read gave."""
    if backend == "torch":
        import torch  # a core dependency
        torch.set_num_threads(1)
    read, unread = _shared_play(name, True, backend), _shared_play(name, False, backend)
    for (d_read, immediate), (d_late, _) in zip(read, unread):
        np.testing.assert_array_equal(d_read.actions, d_late.actions)
        np.testing.assert_array_equal(d_late.propensities, immediate[0])
        np.testing.assert_array_equal(d_late.probabilities, immediate[1])
        p = immediate[0][:, 0] if immediate[0].ndim == 2 else immediate[0]
        assert np.all((p > 0) & (p <= 1))
        np.testing.assert_allclose(immediate[1].sum(axis=1), 1.0)
