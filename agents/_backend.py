"""Where the linear agents' posterior math runs: numpy (default) or torch on a device.

Same scheme as the world's ``banditsim.envs.backend.Backend``: ``backend='numpy'`` runs on the CPU
(``device`` must be None or 'cpu'); ``backend='torch'`` runs on ``device`` ('cpu' by
default, 'cuda', 'cuda:1', ...).  torch is imported only when the torch backend is asked
for.  Random numbers always come from the agent's numpy Generator and are moved to the
device, so both backends make the same draws and, up to float rounding, the same decisions.
"""

from __future__ import annotations

from banditsim._device import check_device, cuda_missing
from banditsim.agents._validation import check_choice

BACKENDS = ("numpy", "torch")


def check_backend(backend: str, device: str | None) -> tuple[str, str | None]:
    """Validated (backend, device): device is None for numpy, a torch device string for torch.

    >>> check_backend("numpy", None)
    ('numpy', None)
    >>> check_backend("numpy", "cuda")
    Traceback (most recent call last):
    ...
    ValueError: backend='numpy' runs on the CPU only, not device='cuda'; use backend='torch'
    """
    backend = check_choice("backend", backend, BACKENDS)
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"backend='numpy' runs on the CPU only, not device={device!r}; use backend='torch'")
        return backend, None
    device = check_device("cpu" if device is None else device)
    missing = cuda_missing(device)
    if missing:
        raise ValueError(f"device={device!r}: {missing}")
    return backend, device
