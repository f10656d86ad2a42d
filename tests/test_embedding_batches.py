"""Issue #17 item 5: the faster embedding loop gives today's vectors, in the caller's order.

The reference here is independent of the batching: each text alone through the tokenizer and the
model (no padding at all), mean-pooled and normalised in float64. The new loop (token-ordered
batches within a token budget, tokenised once, run on worker threads) must match it within 1e-5 on a
catalog whose texts run from one word to past the 256-token limit, shuffled, at batch boundaries.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.embed_part import embed_before, synthetic_texts
from banditsim.envs.embed_batches import padded_tokens, plan_batches
from banditsim.envs.embedding import TextEmbedder, embed_texts, model_key
from banditsim.envs.errors import EmbeddingError
from tests.embedding_fixtures import embedder, one_thread  # noqa: F401 (fixtures)

ATOL = 1e-5


@pytest.fixture(scope="module")
def varied_texts():
    """28 texts from 1 word to ~330 words (truncated at 256 tokens), shuffled, with two duplicates."""
    rng = np.random.default_rng(7)
    texts = ["Heat", "Alien (1979)", "Toy Story (1995). Genres: Animation, Children's, Comedy"]
    texts += synthetic_texts(20, words=(2, 140), seed=3)
    texts += [" ".join(synthetic_texts(3, words=(300, 330), seed=4)[0].split()[:330]), "Heat", "Alien (1979)"]
    texts += ["A space opera. " * 40, "x"]
    return [texts[i] for i in rng.permutation(len(texts))]


def reference(embedder, texts) -> np.ndarray:
    """Each text alone (no [PAD] anywhere), mean of its token states, L2-normalised in float64."""
    rows = []
    with torch.inference_mode():
        for t in texts:
            enc = embedder._tokenizer([t], truncation=True, max_length=embedder.max_length, return_tensors="pt")
            h = embedder._model(**enc).last_hidden_state[0].double().numpy()
            v = h.mean(0)
            rows.append(v / np.linalg.norm(v))
    return np.array(rows)


@pytest.fixture(scope="module")
def varied_reference(embedder, varied_texts):
    return reference(embedder, varied_texts)


def test_the_catalog_really_varies(embedder, varied_texts):
    lengths = [len(ids) for ids in embedder._tokenizer(varied_texts, truncation=True, max_length=256)["input_ids"]]
    assert min(lengths) == 3 and max(lengths) == 256 and len(set(lengths)) > 15


@pytest.mark.parametrize("batch_size, token_budget", [(64, 4096), (4, 4096), (5, 300), (64, 100), (1, 1)])
def test_vectors_match_each_text_alone_in_the_callers_order(embedder, varied_texts, varied_reference,
                                                           batch_size, token_budget):
    emb = TextEmbedder(device="cpu", batch_size=batch_size, token_budget=token_budget, threads=1)
    emb._tokenizer, emb._model = embedder._tokenizer, embedder._model
    seen = []
    v = emb.embed(varied_texts, progress=False, on_batch=lambda idx, vecs: seen.append((idx.copy(), vecs.copy())))
    assert v.shape == (len(varied_texts), 384) and v.dtype == np.float32
    np.testing.assert_allclose(v, varied_reference, atol=ATOL, rtol=0)
    # on_batch reports the caller's positions with their vectors, each position once
    positions = np.concatenate([idx for idx, _ in seen])
    assert sorted(positions.tolist()) == list(range(len(varied_texts)))
    for idx, vecs in seen:
        assert len(idx) <= batch_size
        np.testing.assert_array_equal(v[idx], vecs)


def test_todays_loop_gives_the_same_vectors(embedder, varied_texts, varied_reference):
    """The loop before issue #17 (character-ordered batches of 64) agrees with the new one to 1e-5."""
    before = embed_before(embedder, varied_texts)
    np.testing.assert_allclose(before, varied_reference, atol=ATOL, rtol=0)
    np.testing.assert_allclose(embedder.embed(varied_texts, progress=False), before, atol=ATOL, rtol=0)


def test_a_shuffled_catalog_maps_back(embedder, varied_texts):
    perm = np.random.default_rng(1).permutation(len(varied_texts))
    v = embedder.embed(varied_texts, progress=False)
    w = embedder.embed([varied_texts[i] for i in perm], progress=False)
    np.testing.assert_allclose(w, v[perm], atol=1e-6, rtol=0)
    sims = v @ v.T  # distinct texts are told apart, so a mix-up of rows could not pass
    distinct = np.array([[a != b for b in varied_texts] for a in varied_texts])
    assert sims[distinct].max() < 0.999


@pytest.mark.parametrize("n", [1, 3, 4, 5, 9])
def test_batch_boundaries(embedder, n):
    """1 text, batch_size - 1, batch_size, batch_size + 1 and two batches + 1 (batch_size 4)."""
    texts = synthetic_texts(n, words=(1, 30), seed=n)
    emb = TextEmbedder(device="cpu", batch_size=4, threads=1)
    emb._tokenizer, emb._model = embedder._tokenizer, embedder._model
    np.testing.assert_allclose(emb.embed(texts, progress=False), reference(embedder, texts), atol=ATOL, rtol=0)


def test_empty_strings_and_duplicates(embedder):
    texts = ["", "Heat", "", "Heat", "Alien (1979)", "Heat"]
    v = embedder.embed(texts, progress=False)
    np.testing.assert_allclose(v, reference(embedder, texts), atol=ATOL, rtol=0)
    np.testing.assert_array_equal(v[1], v[3])
    np.testing.assert_array_equal(v[0], v[2])
    assert embedder.embed([], progress=False).shape == (0, 384)


def test_thread_count_does_not_change_the_vectors(embedder, varied_texts):
    one = TextEmbedder(device="cpu", threads=1)
    two = TextEmbedder(device="cpu", threads=2)
    default = TextEmbedder(device="cpu")
    for e in (one, two, default):
        e._tokenizer, e._model = embedder._tokenizer, embedder._model
    texts = varied_texts[:12]
    before = torch.get_num_threads()
    a, b, c = (e.embed(texts, progress=False) for e in (one, two, default))
    assert torch.get_num_threads() == before, "embed must put torch's thread count back"
    np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)
    np.testing.assert_allclose(a, c, atol=1e-6, rtol=0)


def test_cache_key_and_cache_hits_do_not_depend_on_batching(tmp_path, varied_texts):
    """Batching changes the work, not the vectors (within 1e-5): the same texts hit the cache
    whatever the batch size, budget or threads, and the model key is what it was."""
    first = embed_texts(varied_texts, cache_dir=tmp_path, progress=False,
                        embedder=TextEmbedder(device="cpu", batch_size=3, token_budget=200, threads=1))
    other = TextEmbedder(device="cpu", batch_size=64, token_budget=8192)
    again = embed_texts(list(reversed(varied_texts)), cache_dir=tmp_path, progress=False, embedder=other)
    assert again.n_embedded == 0 and other._model is None
    np.testing.assert_array_equal(again.vectors, first.vectors[::-1])
    assert other.key_for(tmp_path) == model_key(other.model_dir, 256, tmp_path) == first.model_key


@pytest.mark.parametrize("kwargs, message", [({"token_budget": 0}, "token_budget must be >= 1"),
                                             ({"threads": 0}, "threads must be >= 1"),
                                             ({"batch_size": 0}, "batch_size must be >= 1")])
def test_bad_settings_are_one_clear_error(kwargs, message):
    with pytest.raises(EmbeddingError, match=message):
        TextEmbedder(device="cpu", **kwargs)


# ------------------------------------------------------------------ the batch plan alone
@pytest.mark.parametrize("seed", range(40))
def test_plan_covers_every_text_once_within_the_limits(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 300))
    lengths = rng.integers(2, 257, size=n) if seed % 2 else rng.choice([3, 3, 3, 40, 256], size=n)
    max_texts, budget = int(rng.integers(1, 100)), int(rng.integers(1, 9000))
    batches = plan_batches(lengths, max_texts, budget)
    flat = np.concatenate(batches) if batches else np.array([], dtype=int)
    assert sorted(flat.tolist()) == list(range(n))
    assert np.all(np.diff(lengths[flat]) <= 0), "longest first"
    for b in batches:
        assert 1 <= len(b) <= max_texts
        assert len(b) == 1 or len(b) * lengths[b].max() <= budget
        ties = b[lengths[b] == lengths[b[0]]]
        assert np.all(np.diff(ties) > 0), "equal lengths keep their order"


def test_plan_sorts_by_tokens_so_padding_shrinks():
    """Characters are a poor proxy for tokens: ordering by tokens pads less (here: not at all)."""
    lengths = np.array([5, 30, 5, 30, 5, 30, 5, 30])
    by_tokens = plan_batches(lengths, 4, 10_000)
    assert padded_tokens(lengths, by_tokens) == int(lengths.sum())
    in_order = [np.arange(0, 4), np.arange(4, 8)]
    assert padded_tokens(lengths, in_order) == 8 * 30


@pytest.mark.parametrize("lengths, max_texts, budget", [([[1, 2]], 4, 10), ([-1], 4, 10), ([3], 0, 10), ([3], 4, 0)])
def test_plan_rejects_bad_arguments(lengths, max_texts, budget):
    with pytest.raises(ValueError):
        plan_batches(lengths, max_texts, budget)
