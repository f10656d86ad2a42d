"""The embedder's CPU thread count: the tuner on simulated machines, the quota reader, the scope."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from envs.cpu_threads import cgroup_cpu_limit, default_threads, torch_threads, usable_cpus
from envs.thread_tuner import ThreadTuner, halvings


class Machine:
    """A fake clock and a throughput that depends on the thread count and on the time."""

    def __init__(self, speed):
        self.now, self.speed = 0.0, speed  # speed(now, threads) -> work per second

    def clock(self):
        return self.now

    def run(self, tuner, batches, work=100.0):
        used = []
        for _ in range(batches):
            threads = tuner.next()
            seconds = work / self.speed(self.now, threads)
            self.now += seconds
            tuner.record(threads, work, seconds)
            used.append(threads)
        return used


IDLE_2 = {2: 1.8, 1: 1.0}   # 2 cores, nobody else: two threads 1.8x one
BUSY_2 = {2: 0.3, 1: 1.0}   # 2 cores beside busy processes: two threads stall at every barrier


def test_idle_machine_keeps_every_core_and_probes_rarely():
    m = Machine(lambda t, n: 500 * IDLE_2[n])
    tuner = ThreadTuner(2, clock=m.clock)
    used = m.run(tuner, 2000)  # ~220 s of batches of 0.11 s
    assert used[:3] == [2, 2, 1] and tuner.threads == 2
    assert used.count(1) / len(used) < 0.03, "probing one thread must cost little on an idle machine"


def test_busy_machine_drops_to_one_thread_at_the_first_probe():
    m = Machine(lambda t, n: 500 * BUSY_2[n])
    tuner = ThreadTuner(2, clock=m.clock)
    used = m.run(tuner, 500)
    assert used[:4] == [2, 2, 1, 1] and tuner.threads == 1
    assert used.count(2) / len(used) < 0.05


def test_load_that_comes_and_goes_is_followed_within_the_longest_wait():
    """Idle for 100 s, busy from 100 s to 250 s, idle again: the count follows, lagging at most
    the longest wait between re-checks (60 s) plus a batch; while busy, the probes with two
    threads (3.3x slower batches) take a small share of the time."""
    def busy(t):
        return 100 <= t < 250

    m = Machine(lambda t, n: 500 * (BUSY_2 if busy(t) else IDLE_2)[n])
    tuner = ThreadTuner(2, recheck=10.0, longest=60.0, clock=m.clock)
    times, used, seconds = [], [], []
    while m.now < 400:
        times.append(m.now)
        used.extend(m.run(tuner, 1))
        seconds.append(m.now - times[-1])
    wrong = [n != (1 if busy(t) else 2) for t, n in zip(times, used)]
    lagging = [t for t, w, w_next in zip(times, wrong, wrong[1:])  # two wrong batches in a row: not a probe
               if w and w_next and not (t < 1 or 100 <= t < 161 or 250 <= t < 311)]
    assert lagging == [], lagging[:10]
    assert sum(wrong) / len(wrong) < 0.2
    busy_probes = sum(s for t, n, s in zip(times, used, seconds) if busy(t) and t >= 161 and n == 2)
    assert busy_probes < 0.1 * (250 - 161)
    assert tuner.threads == 2


def test_a_confirmed_choice_waits_longer_before_the_next_probe():
    m = Machine(lambda t, n: 500 * IDLE_2[n])
    tuner = ThreadTuner(2, recheck=10.0, longest=60.0, clock=m.clock)
    probes = []
    while m.now < 300:
        t = m.now
        if m.run(tuner, 1) == [1]:
            probes.append(t)
    gaps = np.diff(probes)  # the first probe confirms 2 threads: wait 20 s, then 40, then 60 at most
    assert probes[0] < 1 and np.allclose(gaps, [20, 40, 60, 60, 60], atol=1.0), probes


def test_many_cores_climb_to_the_best_count():
    rates = {8: 2.0, 4: 3.0, 2: 4.0, 1: 2.5}
    m = Machine(lambda t, n: 100 * rates[n])
    tuner = ThreadTuner(8, clock=m.clock)
    m.run(tuner, 60)
    assert tuner.threads == 2 and set(tuner.rate) == {0, 1, 2, 3}


def test_one_core_never_probes():
    m = Machine(lambda t, n: 100.0)
    tuner = ThreadTuner(1, clock=m.clock)
    assert set(m.run(tuner, 50)) == {1}


def test_warmup_batch_is_not_counted():
    """The first batch after loading is slow for reasons of its own (allocation, caches)."""
    m = Machine(lambda t, n: 100 * IDLE_2[n])
    tuner = ThreadTuner(2, clock=m.clock)
    tuner.record(2, 100, 50.0)  # a dreadful warm-up
    assert tuner.rate == {}
    m.run(tuner, 10)
    assert tuner.threads == 2


@pytest.mark.parametrize("most", [0, -3])
def test_halvings_needs_a_positive_count(most):
    with pytest.raises(ValueError):
        halvings(most)


# ------------------------------------------------------------------------ quota and scope
@pytest.mark.parametrize("files, expected", [
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu.max": "200000 100000\n"}, 2.0),
    ({"cpu.max": "50000 100000\n"}, 0.5),
    ({"cpu.max": "garbage"}, None),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3.0),
    ({}, None),
])
def test_cgroup_quota(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_cpu_limit(tmp_path) == expected


def test_usable_cpus_is_capped_by_a_quota(monkeypatch):
    import envs.cpu_threads as ct

    monkeypatch.setattr(ct, "cgroup_cpu_limit", lambda root=None: 0.5)
    assert usable_cpus() == 1
    monkeypatch.setattr(ct, "cgroup_cpu_limit", lambda root=None: None)
    assert usable_cpus() >= 1
    assert 1 <= default_threads() <= torch.get_num_threads()


def test_torch_threads_scope_restores_on_error():
    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    with pytest.raises(RuntimeError):
        with torch_threads(target):
            assert torch.get_num_threads() == target
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError):
        with torch_threads(0):
            pass
