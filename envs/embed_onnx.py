"""ONNX Runtime inference for :class:`~banditsim.envs.embedding.TextEmbedder` on the CPU.

The same model, pooling included (mean of the non-[PAD] token states, L2 norm), is exported once
per model key with torch's TorchScript exporter to ``<cache_dir>/onnx/<model key>.<EXPORT_TAG>.onnx``
(or found in the default cache folder) and run by onnxruntime: its CPU kernels (MLAS) run this
model's small matrix products faster than torch's on one thread (figures: bench/README.md), and
the vectors it returns are the model's own, so the vector cache key does not change.

An export is trusted only after it gave the torch model's vectors (within :data:`EXPORT_ATOL`) on
probe texts of several lengths and batch sizes; then it is renamed into place beside its sha256,
under a lock (concurrent processes export once, and never read a half-written file). A file whose
digest no longer matches is exported again. Each session runs one intra-op thread: the embedder
runs whole batches side by side on worker threads instead (:mod:`banditsim.envs.embed_workers`),
and a call whose run was abandoned is terminated between two operators.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from banditsim.envs.embedding_cache import default_cache_dir
from banditsim.envs.errors import EmbeddingError
from banditsim.envs.embed_workers import Stopped, on_stop, stop_requested
from banditsim.envs.file_digest import atomic_write_bytes, file_digests, sha256_file, umask

OPSET = 17
EXPORT_TAG = f"pooled-opset{OPSET}-v1"  # a new tag whenever the exported graph changes
EXPORT_ATOL = 1e-5
OUTPUT = "embedding"
PROBE_TEXTS = ("A space opera", "x", "Heat (1995) " * 12, "A cookbook: slow braises, quick pickles and bread")


class OnnxUnavailable(Exception):
    """The ONNX backend cannot run here (onnxruntime missing, export or load failed); says why.
    ``folder_error``: the cache folder could not hold the export (the vector cache, in the same
    folder, warns about that itself)."""

    def __init__(self, reason: str, folder_error: bool = False):
        super().__init__(reason)
        self.folder_error = folder_error


def available() -> bool:
    """True when onnxruntime can be imported."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def choose_backend(requested: str, device: str) -> str:
    """``"onnx"`` or ``"torch"`` for a backend request on a resolved device: ``"auto"`` is onnx on
    the CPU when onnxruntime is installed. Raises :class:`EmbeddingError` for onnx off the CPU or
    without onnxruntime.

    >>> choose_backend("auto", "cuda"), choose_backend("torch", "cpu")
    ('torch', 'torch')
    """
    if requested == "torch" or (requested == "auto" and (device != "cpu" or not available())):
        return "torch"
    if device != "cpu":
        raise EmbeddingError(f"the onnx embedding backend runs on the CPU only, not {device}: "
                             "use device cpu or backend torch")
    if not available():
        raise EmbeddingError("the onnx embedding backend needs onnxruntime: run 'pip install onnxruntime'")
    return "onnx"


def export_path(cache_dir: Path, model_key: str) -> Path:
    """Where the export of the model ``model_key`` lives in the cache folder ``cache_dir``."""
    return Path(cache_dir) / "onnx" / f"{model_key}.{EXPORT_TAG}.onnx"


class OnnxEncoder:
    """An exported model in an onnxruntime session: padded token arrays in, unit vectors out."""

    def __init__(self, path: Path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: no notes about unused initialisers
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.dim = int(self.session.get_outputs()[0].shape[1])

    def __call__(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """Vectors of one padded batch (int64 arrays named as the tokenizer names them). In a worker
        whose run was abandoned the call stops between two operators and raises :class:`Stopped`."""
        import onnxruntime as ort

        feeds = {name: np.asarray(arrays[name], dtype=np.int64) for name in self.inputs}
        options = ort.RunOptions()
        with on_stop(lambda: setattr(options, "terminate", True)):
            try:
                return self.session.run([OUTPUT], feeds, options)[0]
            except Exception:
                if stop_requested():
                    raise Stopped("embedding abandoned") from None
                raise


def load_encoder(cache_dir: Path, model_key: str, torch_model: Callable, tokenizer) -> OnnxEncoder:
    """The session of this model's export in ``cache_dir``, exporting it first when it is missing or
    damaged; an intact export in the default cache folder serves too (a run with a cache folder of
    its own need not export again). ``torch_model()`` returns the loaded torch model (only called to
    export). Raises :class:`OnnxUnavailable` with the reason when that fails."""
    if not available():
        raise OnnxUnavailable("onnxruntime is not installed")
    path = export_path(cache_dir, model_key)
    shared = export_path(default_cache_dir(), model_key)
    try:
        if shared != path and not _intact(path, cache_dir) and _intact(shared, default_cache_dir()):
            return OnnxEncoder(shared)
        if not _intact(path, cache_dir):
            with _lock(path.parent / ".lock"):
                if not _intact(path, cache_dir):  # another process may have exported it meanwhile
                    _export(torch_model(), tokenizer, path)
        return OnnxEncoder(path)
    except OnnxUnavailable:
        raise
    except Exception as exc:  # torch.onnx and onnxruntime raise many types
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxUnavailable(f"{type(exc).__name__}: {text}", folder_error=isinstance(exc, OSError)) from None


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _intact(path: Path, cache_dir: Path) -> bool:
    """The export exists and its bytes are the ones written beside it (digest memoised)."""
    try:
        expected = _digest_path(path).read_text(encoding="ascii").strip()
        return file_digests([path], Path(cache_dir))[0] == expected
    except (OSError, UnicodeDecodeError):
        return False


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _export(model, tokenizer, path: Path) -> None:
    """Export ``model`` with its pooling to a temporary file, check it against torch, then rename
    it and its digest into place."""
    import torch

    probe = tokenizer(list(PROBE_TEXTS), padding=True, return_tensors="pt")
    names = list(probe.keys())
    pooled = _pooled(model, names).eval()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".onnx")
    os.close(fd)
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            # the tracer's notes on shape checks it freezes: the probe's padding keeps the masked
            # path, and _check_export tests the graph on other shapes
            warnings.simplefilter("ignore")
            torch.onnx.export(pooled, tuple(probe[n] for n in names), tmp, input_names=names,
                              output_names=[OUTPUT], opset_version=OPSET, dynamo=False,
                              dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, OUTPUT: {0: "batch"}})
        _check_export(OnnxEncoder(Path(tmp)), pooled, tokenizer)
        atomic_write_bytes(_digest_path(path), (sha256_file(Path(tmp)) + "\n").encode("ascii"))
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes 0600
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _check_export(encoder: OnnxEncoder, pooled, tokenizer) -> None:
    """The export gives torch's vectors on the probe texts: all at once (padded) and one alone."""
    import torch

    for texts in (list(PROBE_TEXTS), list(PROBE_TEXTS[2:3])):
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        with torch.no_grad():
            want = pooled(*(batch[n] for n in pooled.names)).numpy()
        got = encoder({n: batch[n].numpy() for n in pooled.names})
        if got.shape != want.shape or not np.allclose(got, want, atol=EXPORT_ATOL, rtol=0):
            raise OnnxUnavailable("the ONNX export does not reproduce the torch model's vectors")


def _pooled(model, names: list[str]):
    import torch

    from banditsim.envs.embedding import mean_pool

    class Pooled(torch.nn.Module):
        """The model and its pooling as one graph: token arrays in ``names`` order → unit vectors."""

        def __init__(self):
            super().__init__()
            self.model, self.names = model, names

        def forward(self, *arrays):
            batch = dict(zip(self.names, arrays))
            return mean_pool(self.model(**batch).last_hidden_state, batch["attention_mask"])

    return Pooled()
