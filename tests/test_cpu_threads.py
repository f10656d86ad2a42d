"""The embedder's CPU count: the container-quota reader, the usable CPUs and the thread-count scope."""

from __future__ import annotations

import pytest
import torch

from banditsim.envs.cpu_threads import cgroup_cpu_limit, default_threads, torch_threads, usable_cpus


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
    import banditsim.envs.cpu_threads as ct

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
