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


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:one", "CPU", "tpu"])
def test_the_world_the_embedder_and_the_neural_agent_refuse_what_the_vocabulary_refuses(bad):
    from banditsim.agents.neural_linear_ts import NeuralLinearTSAgent
    from banditsim.envs.backend import Backend
    from banditsim.envs.errors import EmbeddingError
    from banditsim.envs.embedding import TextEmbedder, pick_device
    from banditsim.envs.world_errors import WorldConfigError

    with pytest.raises(WorldConfigError, match=re.escape(repr(bad))):
        Backend("torch", bad)
    with pytest.raises(EmbeddingError, match=re.escape(f"unknown device {bad!r}")):
        TextEmbedder(device=bad)
    with pytest.raises(EmbeddingError, match=re.escape(f"unknown device {bad!r}")):
        pick_device(bad)
    with pytest.raises(ValueError, match=re.escape(f"unknown device {bad!r}")):
        NeuralLinearTSAgent(4, device=bad)


def test_auto_and_cpu_resolve_the_same_way_everywhere():
    from banditsim._device import resolve_device
    from banditsim.agents.neural_linear_ts import torch_device
    from banditsim.envs.embedding import pick_device

    expected = "cpu" if cuda_missing("cuda") else "cuda"
    assert resolve_device("auto") == pick_device("auto") == torch_device("auto").type == expected
    assert resolve_device("cpu") == pick_device("cpu") == torch_device("cpu").type == "cpu"


def test_a_missing_gpu_is_refused_by_the_world_the_embedder_and_the_neural_agent_with_the_same_reason():
    from banditsim.agents.neural_linear_ts import NeuralLinearTSAgent
    from banditsim.envs.backend import Backend
    from banditsim.envs.errors import EmbeddingError
    from banditsim.envs.embedding import pick_device
    from banditsim.envs.world_errors import WorldConfigError

    reason = cuda_missing("cuda:0")
    if reason is None:
        pytest.skip("torch sees a CUDA device here")
    with pytest.raises(WorldConfigError, match=re.escape(reason)):
        Backend("torch", "cuda:0")
    with pytest.raises(EmbeddingError, match=re.escape(reason)):
        pick_device("cuda:0")
    with pytest.raises(ValueError, match=re.escape(reason)):
        NeuralLinearTSAgent(4, device="cuda")
