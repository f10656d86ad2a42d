"""gym.make with the user's own world: catalog=, population= and n_users= keyword arguments."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import banditsim  # noqa: F401  (registers the ids)
from banditsim.envs.catalog import Catalog
from banditsim.envs.embedding import embed_texts
from banditsim.envs.errors import CatalogError
from banditsim.envs.registration import ENV_IDS
from banditsim.envs.world_errors import ItemVectorError, WorldConfigError

TEXTS = ["Alien (1979)", "Heat (1995)", "Toy Story (1995)", "Casablanca (1942)", "Jaws (1975)", "Fargo (1996)"]


@pytest.fixture(scope="module")
def toy_catalog():
    return Catalog("toy", ids=[f"m{i}" for i in range(len(TEXTS))], texts=TEXTS)


def _people(env, episodes: int) -> list[int]:
    """The population user behind each of ``episodes`` episodes (each run to its end)."""
    _, info = env.reset(seed=0)
    env.action_space.seed(0)
    seen = [info["population_index"]]
    for _ in range(episodes - 1):
        done = False
        while not done:
            _, _, term, trunc, info = env.step(env.action_space.sample(mask=info["action_mask"]))
            done = term or trunc
        _, info = env.reset()
        seen.append(info["population_index"])
    return seen


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_a_catalog_of_texts_is_embedded_and_the_env_checks(env_id, toy_catalog):
    slate = {"slate_size": 3} if env_id == "banditsim/Slate-v0" else {}
    env = gym.make(env_id, catalog=toy_catalog, max_steps=5, **slate)
    expected = embed_texts(TEXTS, progress=False).vectors
    assert env.unwrapped.world.n_items == len(TEXTS)
    np.testing.assert_allclose(env.unwrapped.item_vectors, expected / np.linalg.norm(expected, axis=1, keepdims=True),
                               rtol=1e-6, atol=1e-6)
    check_env(env.unwrapped, skip_render_check=True)


def test_a_catalog_file_path_gives_the_same_items_as_the_catalog(tmp_path, toy_catalog):
    path = tmp_path / "movies.csv"
    path.write_text("id,title\n" + "".join(f'm{i},"{t}"\n' for i, t in enumerate(TEXTS)), encoding="utf-8")
    from_file = gym.make("banditsim/Recommend-v0", catalog=str(path), max_steps=5).unwrapped
    from_catalog = gym.make("banditsim/Recommend-v0", catalog=toy_catalog, max_steps=5).unwrapped
    np.testing.assert_array_equal(from_file.item_vectors, from_catalog.item_vectors)
    check_env(from_file, skip_render_check=True)


def _trajectory(env, n=30):
    _, info = env.reset(seed=3)
    out = []
    for t in range(n):
        _, r, term, trunc, info = env.step(t % env.unwrapped.world.n_items)
        out.append((r, info["kind"], info["expected_reward"], info["population_index"]))
        if term or trunc:
            _, info = env.reset()
    return out


def test_an_array_catalog_is_the_item_vectors_kwarg(small_items, small_population):
    a = gym.make("banditsim/Recommend-v0", catalog=small_items, population=small_population, max_steps=10)
    b = gym.make("banditsim/Recommend-v0", item_vectors=small_items, population=small_population, max_steps=10)
    assert a.unwrapped.world.population is small_population
    assert _trajectory(a) == _trajectory(b)


def test_a_population_is_used_as_given(small_items, small_population):
    env = gym.make("banditsim/Slate-v0", catalog=small_items, population=small_population, slate_size=2)
    assert env.unwrapped.world.population is small_population
    check_env(env.unwrapped, skip_render_check=True)


def test_n_users_is_the_pool_of_people_the_episodes_are_drawn_from(small_items, small_population):
    everyone = _people(gym.make("banditsim/Recommend-v0", catalog=small_items, population=small_population,
                                max_steps=2), 120)
    assert len(set(everyone)) > 3
    env = gym.make("banditsim/Recommend-v0", catalog=small_items, population=small_population, n_users=3, max_steps=2)
    pool = env.unwrapped.world.population
    assert pool.n_users == 3 and set(pool.user_ids) <= set(small_population.user_ids)
    assert len(set(_people(env, 120))) == 3
    again = gym.make("banditsim/Recommend-v0", catalog=small_items, population=small_population, n_users=3)
    assert again.unwrapped.world.population.user_ids == pool.user_ids  # the pool does not depend on the episodes
    check_env(env.unwrapped, skip_render_check=True)


def test_without_a_population_n_users_are_sampled_around_the_items(small_items):
    env = gym.make("banditsim/Recommend-v0", catalog=small_items, n_users=7, max_steps=2)
    assert env.unwrapped.world.population.n_users == 7
    assert len(set(_people(env, 150))) == 7
    assert gym.make("banditsim/Recommend-v0", catalog=small_items).unwrapped.world.population.n_users == 1000


def test_the_vector_env_takes_the_same_kwargs(small_items, small_population):
    venv = gym.make_vec("banditsim/Recommend-v0", num_envs=4, vectorization_mode="vector_entry_point",
                        catalog=small_items, population=small_population, n_users=2, max_steps=3)
    _, info = venv.reset(seed=0)
    seen = set(info["population_index"].tolist())
    for _ in range(30):
        _, _, _, _, info = venv.step(np.zeros(4, dtype=int))
        seen |= set(info["population_index"].tolist())
    assert venv.unwrapped.world.population.n_users == 2 and seen == {0, 1}
    venv.close()


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"catalog": "ITEMS", "item_vectors": "ITEMS"}, WorldConfigError, "catalog= or item_vectors=, not both"),
    ({"catalog": 5}, WorldConfigError, "catalog must be a Catalog, a catalog file path or an"),
    ({"catalog": np.zeros((3, 4))}, ItemVectorError, "catalog row 0 is all zeros"),
    ({"catalog": "/no/such/catalog.csv"}, CatalogError, "catalog.csv"),
    ({"catalog": "ITEMS", "n_users": 0}, WorldConfigError, "n_users must be a whole number ≥ 1, got 0"),
    ({"catalog": "ITEMS", "n_users": 2.5}, WorldConfigError, "n_users must be a whole number ≥ 1, got 2.5"),
    ({"catalog": "ITEMS", "n_users": True}, WorldConfigError, "n_users must be a whole number ≥ 1, got True"),
    ({"catalog": "ITEMS", "population": "POP", "n_users": 41}, WorldConfigError,
     "n_users=41 but the population has only 40 users"),
    ({"population": "POP"}, WorldConfigError, "a population needs the catalog (or item_vectors) it was built for"),
    ({"catalog": "ITEMS", "population": "not a population"}, WorldConfigError,
     "population must be a banditsim.envs.population.Population, got str"),
])
def test_bad_kwargs_are_one_clear_error(kwargs, error, message, small_items, small_population):
    real = {"ITEMS": small_items, "POP": small_population}
    kwargs = {k: real.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()}
    for env_id in ENV_IDS:
        with pytest.raises(error) as caught:
            gym.make(env_id, **kwargs)
        assert message in str(caught.value)


def test_the_builtin_catalog_by_name_is_the_default_world_with_its_fitted_users():
    """``catalog="movielens-100k"`` names the default world: the movies and the 943 users fitted to
    their ratings (not users sampled around item clusters), pooled by ``n_users`` like any population."""
    from banditsim.envs.default_world import movielens_world_parts, world_parts

    items, population = movielens_world_parts()
    named_items, named_population = world_parts(catalog="movielens-100k")
    assert named_items is items and named_population is population and population.n_users == 943
    _, pool = world_parts(catalog="movielens-100k", n_users=50)
    assert pool.n_users == 50
    rows = [np.flatnonzero((population.theta == t).all(axis=1))[0] for t in pool.theta]
    assert len(set(rows)) == 50  # 50 distinct fitted users, not new ones
