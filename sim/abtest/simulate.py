"""Simulated A/B tests on the batched world: many tests at once, users as the randomisation unit.

The world's B slots are split into ``n_tests`` tests × 2 arms × ``n_per_arm`` users (slot
order: test, arm, user). Each slot's first person is the enrolled user; they are followed for
``horizon`` steps, across sessions when they return, until they churn (a churned user's slot
gets a new person, who is not enrolled). Both policies are frozen, so users are independent
and any subset of a test's users is itself a smaller valid test.
"""

from __future__ import annotations

import numpy as np

from banditsim.sim.metrics import StepView, ab_metrics


def simulate_tests(world, control, treatment, n_tests: int, n_per_arm: int, horizon: int,
                   rng: np.random.Generator, seed: int | None = None) -> np.ndarray:
    """Per-user metrics (n_tests, 2, n_per_arm, len(ab_metrics())); arm 0 control, arm 1 treatment.

    ``world.n_users`` must equal ``n_tests * 2 * n_per_arm``. Vectorised over users; loops over steps.

    Examples
    --------
    >>> from banditsim.envs.clusters import cluster_population
    >>> from banditsim.envs.population import unit_rows
    >>> from banditsim.envs.world import World
    >>> from banditsim.sim.config.policy_spec import PolicySpec
    >>> from banditsim.sim.policies.frozen import build_policy
    >>> x = unit_rows(np.random.default_rng(0).normal(size=(20, 8)))
    >>> w = World(x, cluster_population(x, 50, n_clusters=3, seed=0), n_users=24, seed=1)
    >>> rnd = build_policy(PolicySpec(label="r", name="random"), x, x, [0.0] * 8, 0)  # one value per kind
    >>> simulate_tests(w, rnd, rnd, 3, 4, 5, np.random.default_rng(0)).shape
    (3, 2, 4, 4)
    """
    b = n_tests * 2 * n_per_arm
    if world.n_users != b:
        raise ValueError(f"world has {world.n_users} users, the tests need {b}")
    slot = np.arange(b)
    treated = (slot // n_per_arm) % 2 == 1
    arms = [(np.flatnonzero(~treated), control), (np.flatnonzero(treated), treatment)]
    metrics = ab_metrics()
    sums = np.zeros((len(metrics) + 1, b))         # steps, then each A/B metric's per-user sum
    obs = world.reset(seed=seed)
    for t in range(horizon):
        actions = np.empty(b, dtype=np.int64)
        feats = obs.features.astype(np.float64)
        for rows, policy in arms:
            actions[rows] = policy.decide(feats[rows], obs.mask[rows], rng)[0]
        res = world.step(actions)
        active = res.user_ids == slot
        sums[0] += active
        view = StepView(t=t, slates=actions[:, None], result=res, session_step=obs.session_step, cell=None)
        for i, m in enumerate(metrics):
            sums[1 + i] += np.where(active, m.step(view), 0.0)
        obs = res.observation
    per_user = sums[1:] / sums[0]
    return per_user.T.reshape(n_tests, 2, n_per_arm, len(metrics))


def simulate_many(make_world, control, treatment, n_tests: int, n_per_arm: int, horizon: int,
                  max_slots: int, rng: np.random.Generator, seed_seq: np.random.SeedSequence) -> np.ndarray:
    """:func:`simulate_tests` for many tests, in batches of at most ``max_slots`` users.

    ``make_world(n_users, seed)`` builds a world; one is built per batch size and reset per batch.
    """
    per_batch = max(1, min(n_tests, max_slots // (2 * n_per_arm)))
    n_batches = -(-n_tests // per_batch)
    seeds = [int(s.generate_state(1)[0]) for s in seed_seq.spawn(n_batches)]
    world, out = None, []
    for k in range(n_batches):
        m = min(per_batch, n_tests - k * per_batch)
        if world is None or world.n_users != m * 2 * n_per_arm:
            world = make_world(m * 2 * n_per_arm, seeds[k])
        out.append(simulate_tests(world, control, treatment, m, n_per_arm, horizon, rng, seed=seeds[k]))
    return np.concatenate(out, axis=0)
