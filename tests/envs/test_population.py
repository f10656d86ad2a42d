import numpy as np
import pytest

from banditsim.envs.clusters import cluster_population
from banditsim.envs.personas import persona_population, read_persona_file
from banditsim.envs.population import check_item_vectors
from banditsim.envs.world_errors import ItemVectorError, PersonaError


def test_persona_file_with_empty_line_names_the_line(tmp_path):
    f = tmp_path / "personas.txt"
    f.write_text("a film buff who loves noir\n\nlikes cartoons\n")
    with pytest.raises(PersonaError, match="line 2 is empty") as e:
        read_persona_file(f)
    assert "\n" not in str(e.value)


def test_persona_population_uses_embed_callable(tmp_path, small_items):
    f = tmp_path / "p.txt"
    f.write_text("noir\ncartoons\nwesterns\n")
    calls = []

    def embed(texts):
        calls.append(list(texts))
        return np.random.default_rng(len(texts)).normal(size=(len(texts), 16))

    pop = persona_population(f, small_items, 9, embed=embed, noise=0.1, seed=3)
    assert calls == [["noir", "cartoons", "westerns"]]
    assert pop.n_users == 9 and pop.meta["persona"].tolist() == [0, 1, 2] * 3
    vecs = embed(["a", "b", "c"])
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    # each user's taste stays near its persona
    assert (np.einsum("nd,nd->n", pop.theta, vecs[pop.meta["persona"]]) > 0.8).all()


def test_cluster_population_deterministic_and_features_hide_theta(small_items):
    a = cluster_population(small_items, 30, n_clusters=4, seed=5)
    b = cluster_population(small_items, 30, n_clusters=4, seed=5)
    c = cluster_population(small_items, 30, n_clusters=4, seed=6)
    np.testing.assert_array_equal(a.theta, b.theta)
    assert not np.array_equal(a.theta, c.theta)
    np.testing.assert_allclose(np.linalg.norm(a.theta, axis=1), 1, atol=1e-5)
    assert np.abs(a.features - a.theta).max() > 0.1  # a noisy projection, never θ itself
    assert (a.tau_neg < a.tau_pos).all() and (a.temperature > 0).all()


def test_nan_embedding_is_one_line_error(small_items):
    x = small_items.copy()
    x[7, 3] = np.nan
    with pytest.raises(ItemVectorError, match="row 7 holds NaN") as e:
        cluster_population(x, 5, n_clusters=2)
    assert "\n" not in str(e.value)
    with pytest.raises(ItemVectorError):
        check_item_vectors(np.zeros((3, 4)))


def test_movielens_fit_beats_popularity_and_random(movielens_vectors):
    """Fitted on 80% of each user's ratings, P(positive) separates held-out likes from dislikes."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.fidelity import fidelity

    res = fidelity(movielens_vectors, seed=0)
    sim = res["simulator P(positive)"]
    assert sim > res["item popularity (mean train rating)"] + 0.03
    assert sim > res["random"] + 0.2
    assert res["taste only (no biases)"] > res["random"] + 0.05


def test_movielens_population_features_are_demographics(movielens_vectors):
    from banditsim.envs.fit_ratings import movielens_population

    pop = movielens_population(movielens_vectors)
    assert pop.n_users == 943 and pop.features.shape == (943, 24)
    assert pop.feature_names[:3] == ("age", "gender_F", "gender_M")
    np.testing.assert_allclose(pop.features[:, 1:3].sum(1), 1)
    np.testing.assert_allclose(pop.features[:, 3:].sum(1), 1)
