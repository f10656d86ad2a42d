"""Real all-MiniLM-L6-v2 embeddings and their on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest

from envs.embedding import TextEmbedder, embed_texts, resolve_model_dir
from envs.errors import CacheError, EmbeddingError


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


def test_unusable_cache_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(CacheError, match="cannot write embedding cache"):
        embed_texts(["Fargo (1996)"], cache_dir=blocker, progress=False)


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
