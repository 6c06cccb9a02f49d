"""On a cluster the judge counts the requests of the model's own Service (JUDGE_MODEL, rendered by hack/render.sh)."""

import pytest
from pydantic import ValidationError

from canary.judge.service import Analyses
from canary.judge.settings import JudgeSettings
from canary.judge.source import source_for


def test_the_istio_source_counts_the_service_named_after_the_model(monkeypatch):
    monkeypatch.setenv("JUDGE_MODEL", "fraud-detector")
    model = JudgeSettings().model
    assert source_for("istio", None, model).selector == 'reporter="destination",destination_service_name="fraud-detector"'
    assert source_for("istio", None).selector.endswith('destination_service_name="wine"')  # the demo's, by default


def test_the_judges_analyses_count_the_models_service(monkeypatch):
    monkeypatch.setenv("JUDGE_MODEL", "fraud-detector")
    assert Analyses(JudgeSettings(source="istio")).source.selector.endswith('destination_service_name="fraud-detector"')


def test_a_selector_given_wins_and_the_local_envoy_source_selects_nothing():
    assert source_for("istio", 'reporter="source"', "fraud").selector == 'reporter="source"'
    assert source_for("envoy", None, "fraud").selector == ""


def test_a_model_name_that_would_need_escaping_in_promql_is_refused(monkeypatch):
    monkeypatch.setenv("JUDGE_MODEL", 'wine",x="')
    with pytest.raises(ValidationError, match="model"):
        JudgeSettings()
