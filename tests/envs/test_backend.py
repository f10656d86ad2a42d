"""envs.backend.Backend: the array namespace and device of the world, copied and pickled by value."""

import copy
import pickle

import numpy as np
import pytest

from banditsim.envs.backend import Backend
from banditsim.envs.world_errors import WorldConfigError

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


@pytest.mark.parametrize("name", ["numpy", "torch"])
def test_copies_and_pickles_rebuild_the_namespace(name):
    be = Backend(name)
    for twin in (copy.deepcopy(be), pickle.loads(pickle.dumps(be))):
        assert (twin.name, twin.device, twin.xp) == (name, "cpu", be.xp)
    made = be.zeros((2, 3), "int64")
    assert be.xp.sum(made, axis=1).shape == (2,)
    assert isinstance(made, np.ndarray) == (name == "numpy")


@pytest.mark.parametrize("name", ["numpy", "torch"])
def test_arrays_are_made_on_the_backend_with_the_named_dtype(name):
    be = Backend(name)
    a = be.asarray(np.arange(6.0).reshape(2, 3), "float32")
    assert be.to_numpy(a).dtype == np.float32
    assert be.to_numpy(be.ones(2)).dtype == np.bool_ and be.to_numpy(be.arange(3)).tolist() == [0, 1, 2]
    assert be.to_numpy(be.cat([a, a], axis=1)).shape == (2, 6)
    rows, cols = be.asarray([[1], [0]], "int64"), be.asarray([[2, 0], [1, 1]], "int64")
    assert be.to_numpy(be.gather(a, rows, cols)).tolist() == [[5.0, 3.0], [1.0, 1.0]]


def test_refuses_an_unknown_backend_or_a_device_for_numpy():
    with pytest.raises(WorldConfigError, match="unknown backend"):
        Backend("jax")
    with pytest.raises(WorldConfigError, match="cpu' only"):
        Backend("numpy", "cuda")
