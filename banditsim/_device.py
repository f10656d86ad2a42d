"""Where torch computes: the one device vocabulary and its checks, for the world, the agents and the configs.

A device is ``"cpu"`` or ``"cuda"`` (:data:`DEVICES`, the names a config accepts); code may also
name one GPU as ``"cuda:N"``. ``"auto"`` is not a device but the embedder's rule (cuda when torch
sees one, else cpu). A leaf: it imports neither envs, agents nor sim, and torch only to ask
whether CUDA is there.
"""

from __future__ import annotations

DEVICES = ("cpu", "cuda")


def check_device(device) -> str:
    """``device`` if it is ``"cpu"``, ``"cuda"`` or ``"cuda:N"``, else ``ValueError``.

    >>> check_device("cuda:1")
    'cuda:1'
    >>> check_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be 'cpu', 'cuda' or 'cuda:N', got 'gpu'
    """
    if isinstance(device, str) and (device in DEVICES or (device.startswith("cuda:") and device[5:].isdigit())):
        return device
    raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")


def cuda_missing(device: str) -> str | None:
    """Why ``device`` cannot be used: a CUDA device torch does not see (None when it can be used).

    >>> cuda_missing("cpu") is None
    True
    """
    if not check_device(device).startswith("cuda"):
        return None
    import torch

    if torch.cuda.is_available():
        return None
    build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
    return f"torch sees no CUDA device (torch {torch.__version__}, {build})"


def resolve_device(device) -> str:
    """The device to compute on: ``"auto"`` becomes ``"cuda"`` when torch sees a GPU, else ``"cpu"``;
    any other name is checked (:func:`check_device`) and a CUDA device torch cannot see is refused
    (``ValueError``, naming the setting and why).

    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: unknown device 'tpu'; use auto, cpu, cuda or cuda:N
    """
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        check_device(device)
    except ValueError:
        raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    why = cuda_missing(device)
    if why is not None:
        raise ValueError(f"device={device!r}: {why}")
    return device
