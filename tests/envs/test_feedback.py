import numpy as np
import pytest

from banditsim.envs.errors import BanditsimError
from banditsim.envs.feedback import FeedbackModel, expected_reward, kind_probabilities, sample_kinds
from banditsim.envs.feedback_kinds import DEFAULT_REWARDS, KINDS, reward_vector
from banditsim.envs.world_errors import FeedbackKindError, WorldConfigError


def _cuts(n):
    return FeedbackModel().cut_points(np.full(n, -0.5), np.full(n, 0.7), np.full(n, 0.4))


def test_kinds_and_default_rewards_in_order():
    assert KINDS == ("block", "dislike", "skip", "neutral", "click", "like", "save", "share")
    assert DEFAULT_REWARDS == (-1.0, -0.5, -0.1, 0.0, 0.5, 1.0, 1.0, 1.0)


def test_unknown_kind_in_reward_map_is_one_line_error():
    with pytest.raises(FeedbackKindError, match="unknown feedback kind 'retweet'") as e:
        reward_vector({"retweet": 1.0})
    assert isinstance(e.value, BanditsimError) and "\n" not in str(e.value)
    with pytest.raises(FeedbackKindError, match="not finite"):
        reward_vector({"like": float("nan")})


def test_probabilities_sum_to_one_and_shift_with_utility():
    u = np.linspace(-3, 3, 13)
    p = kind_probabilities(u, _cuts(13), np.full(13, 0.4))
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-12)
    assert (p >= 0).all()
    pos, neg = p[:, 4:].sum(1), p[:, :3].sum(1)
    assert (np.diff(pos) > 0).all() and (np.diff(neg) < 0).all()
    # within positives, stronger utility moves mass to share; within negatives, weaker to block
    assert p[-1, 7] / pos[-1] > p[7, 7] / pos[7]
    assert p[0, 0] / neg[0] > p[5, 0] / neg[5]


def test_sampling_matches_probabilities_and_expectation():
    rng = np.random.default_rng(0)
    n = 200_000
    u = np.full(n, 0.3)
    cuts, temp = _cuts(n), np.full(n, 0.4)
    kinds = sample_kinds(u, cuts, temp, rng.random(n))
    freq = np.bincount(kinds, minlength=8) / n
    p = kind_probabilities(u[:1], cuts[:1], temp[:1])[0]
    np.testing.assert_allclose(freq, p, atol=4e-3)
    r = reward_vector()
    assert abs(r[kinds].mean() - expected_reward(u[:1], cuts[:1], temp[:1], r)[0]) < 5e-3
    np.testing.assert_allclose(expected_reward(u[:1], cuts[:1], temp[:1], r)[0], (p * r).sum(), atol=1e-12)


def test_expected_reward_of_a_big_batch_is_the_exact_sum():
    """Above 2^16 utilities expected_reward takes its one-cut-point-at-a-time path: it must equal
    Σ_k P(k)·r_k with P from scipy's logistic distribution, like the small path."""
    from scipy import stats

    n = 70_000
    rng = np.random.default_rng(3)
    u, temp = rng.normal(size=n), rng.uniform(0.2, 1.5, n)
    cuts = FeedbackModel().cut_points(np.full(n, -0.5), np.full(n, 0.7), temp)
    r = reward_vector()
    cdf = stats.logistic.cdf((cuts - u[:, None]) / temp[:, None])
    want = np.diff(np.c_[np.zeros(n), cdf, np.ones(n)], axis=1) @ r
    np.testing.assert_allclose(expected_reward(u, cuts, temp, r), want, atol=1e-12)
    np.testing.assert_allclose(expected_reward(u[:100], cuts[:100], temp[:100], r), want[:100], atol=1e-12)


@pytest.mark.parametrize("offsets,message", [
    ({"inner_offset": 2.5}, "inner_offset must be below outer_offset"),
    ({"outer_offset": 0.5}, "outer_offset must be above inner_offset"),
    ({"outer_offset": 3.0}, "outer_offset must be below share_offset"),
    ({"share_offset": 1.5}, "share_offset must be above outer_offset"),
    ({"inner_offset": 2.2, "outer_offset": 2.1}, "inner_offset must be below outer_offset"),
])
def test_offsets_must_grow_away_from_the_threshold_and_the_message_names_the_moved_one(offsets, message):
    with pytest.raises(WorldConfigError) as e:
        FeedbackModel(**offsets)
    assert str(e.value) == message


def test_feedback_model_is_a_value_object_over_the_declared_offsets():
    """The fields come from the kind table, in table order, and behave as a plain frozen dataclass's."""
    import copy
    import dataclasses
    import pickle

    model = FeedbackModel(0.7, 1.9)
    assert [f.name for f in dataclasses.fields(FeedbackModel)] == ["inner_offset", "outer_offset", "share_offset"]
    assert (model.inner_offset, model.outer_offset, model.share_offset) == (0.7, 1.9, 3.0)
    assert model == FeedbackModel(inner_offset=0.7, outer_offset=1.9) and hash(model) == hash((0.7, 1.9, 3.0))
    assert pickle.loads(pickle.dumps(model)) == model == copy.deepcopy(model)
    assert dataclasses.replace(model, share_offset=4.0).share_offset == 4.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.inner_offset = 0.5
