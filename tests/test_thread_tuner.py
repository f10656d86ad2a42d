"""The embedder's CPU thread count: the tuner on simulated machines, the quota reader, the scope."""

from __future__ import annotations

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


def test_load_that_comes_and_goes_is_followed_within_a_recheck():
    """Idle for 60 s, busy from 60 s to 150 s, idle again: the count follows, lagging at most
    one recheck period (10 s) plus a batch."""
    def speed(t, n):
        return 500 * (BUSY_2 if 60 <= t < 150 else IDLE_2)[n]

    m = Machine(speed)
    tuner = ThreadTuner(2, recheck=10.0, clock=m.clock)
    times, used = [], []
    while m.now < 220:
        times.append(m.now)
        used.extend(m.run(tuner, 1))
    wrong = [t for t, n in zip(times, used) if n != (1 if 60 <= t < 150 else 2)]
    late = [t for t in wrong if not (t < 1 or 60 <= t < 71 or 150 <= t < 161)]
    assert len(late) <= 0.02 * len(used), late[:10]
    assert tuner.threads == 2


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
