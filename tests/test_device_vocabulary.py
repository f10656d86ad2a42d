"""One device vocabulary (banditsim._device): the configs' choices and the agents' check read it."""

import re
import typing

import pytest

from banditsim._device import DEVICES, check_device, cuda_missing
from banditsim.agents._backend import check_backend
from banditsim.sim.config.run_config import RunConfig, RunSection
from banditsim.sim.config.world_sections import WorldSection
from banditsim.sim.config.world_source import EmbeddingSection


def test_the_configs_accept_the_device_names():
    assert typing.get_args(RunSection.model_fields["device"].annotation) == DEVICES
    assert typing.get_args(WorldSection.model_fields["device"].annotation) == DEVICES
    assert typing.get_args(EmbeddingSection.model_fields["device"].annotation) == ("auto",) + DEVICES


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:one", "CPU", None, 0])
def test_the_agents_refuse_what_the_vocabulary_refuses(bad):
    with pytest.raises(ValueError) as vocabulary:
        check_device(bad)
    if bad is None:  # the agents read None as "cpu"
        assert check_backend("torch", None) == ("torch", "cpu")
        return
    with pytest.raises(ValueError) as agents:
        check_backend("torch", bad)
    assert str(agents.value) == str(vocabulary.value)


def test_a_missing_gpu_is_named_the_same_way_by_agents_and_configs():
    reason = cuda_missing("cuda")
    if reason is None:
        pytest.skip("torch sees a CUDA device here")
    with pytest.raises(ValueError, match=re.escape(f"device='cuda': {reason}")):
        check_backend("torch", "cuda")
    from banditsim.envs.errors import BanditsimError
    from banditsim.sim.run.prepare import check_cuda

    with pytest.raises(BanditsimError, match=re.escape(f"run.device cuda: {reason}")):
        check_cuda(RunConfig(run={"device": "cuda"}))
