"""The A/B test's metrics and guardrail choices come from the metric registry (the metrics with an ``ab`` name)."""

import pytest

from banditsim.sim.abtest.config import ABTestConfig
from banditsim.sim.metrics import ab_metric_names, ab_metrics


def test_ab_metrics_are_the_registry_entries_with_an_ab_name():
    assert ab_metric_names() == tuple(m.ab for m in ab_metrics())
    assert ab_metric_names() == ("reward", "positive_rate", "negative_rate", "session_end_rate")


def test_guardrails_and_primary_metric_are_checked_against_the_registry():
    cfg = ABTestConfig.model_validate({"test": {"primary_metric": "positive_rate", "guardrails": ["reward"]}})
    assert cfg.test.primary_metric == "positive_rate"
    with pytest.raises(ValueError, match="guardrails: unknown A/B metric 'ndcg_at_k'"):
        ABTestConfig.model_validate({"test": {"guardrails": ["ndcg_at_k"]}})
    with pytest.raises(ValueError, match="primary_metric: unknown A/B metric 'clicks'"):
        ABTestConfig.model_validate({"test": {"primary_metric": "clicks"}})
