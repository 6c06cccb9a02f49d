"""Conditions and spec validation, table-driven over the semantics page."""

import math

import pytest
import yaml

from canary.rollout import args, expr, spec
from tests.canary.conftest import ROOT

GUARDED = "len(result) > 0 && !isNaN(result[0]) && result[0] >= 0.95"


@pytest.mark.parametrize(
    "condition, result, expected",
    [
        (GUARDED, [0.99], True),
        (GUARDED, [0.5], False),
        (GUARDED, [], False),
        (GUARDED, [math.nan], False),
        ("result[0] >= 0.95", [math.nan], False),  # NaN compares false
        ("result >= 0.9", 0.95, True),
        ("result < 0.5 || result > 0.9", 0.95, True),
        ("not (result > 1)", 0.5, True),
        ("all(result, # > 0.5)", [0.6, 0.7], True),
        ("all(result, {# > 0.5})", [0.6, 0.4], False),
        ("any(result, # > 0.5)", [0.1, 0.7], True),
        ("isInf(result[0])", [math.inf], True),
        ("asInt(result) == 3", "3", True),
        ("asFloat(result) > 2.5", "3", True),
        ("isNil(result)", None, True),
        ("default(result, 7) == 7", None, True),
        ("result[0] * 100 - 5 >= 90", [0.96], True),
        ("result == 'ok'", "ok", True),
    ],
)
def test_conditions(condition, result, expected):
    assert expr.evaluate(condition, result) is expected


@pytest.mark.parametrize(
    "condition, result",
    [("result[0] >= 0.95", []), ("len(result) > 0 && result[1] > 0", [1.0]), ("nope(result)", 1), ("result > 'a'", 1.0),
     ("result >= ", 1.0), ("result[0] >= 0.95 )", [1.0])],
)
def test_what_cannot_be_evaluated_is_an_error(condition, result):
    with pytest.raises(expr.EvaluationError):
        expr.evaluate(condition, result)


def rollout(steps, managed=("canary-header",), **canary):
    return {"kind": "Rollout", "metadata": {"name": "wine"},
            "spec": {"template": {"metadata": {"labels": {"app": "wine", "version": "v1"}}},
                     "strategy": {"canary": {"steps": steps, "trafficRouting": {"managedRoutes": [{"name": n} for n in managed]},
                                             **canary}}}}


TEMPLATES = {"gate": spec.Template("gate", (), ())}


@pytest.mark.parametrize(
    "steps, message",
    [
        ([{}], "step 1: a step has exactly one of"),
        ([{"setWeight": 10, "pause": {}}], "step 1: a step has exactly one of"),
        ([{"setWeight": 101}], "step 1: setWeight: input should be less than or equal to 100 (given 101)"),
        ([{"setWeight": -1}], "step 1: setWeight: input should be greater than or equal to 0 (given -1)"),
        ([{"setWeight": "10"}], "step 1: setWeight: input should be a valid integer (given '10')"),
        ([{"setWeight": True}], "step 1: setWeight: input should be a valid integer (given True)"),
        ([{"setWeight": 10}, {"pause": {"duration": "soon"}}], "step 2: pause.duration: 'soon' is not a duration"),
        ([{"analysis": {"templates": [{"templateName": "missing"}]}}], "step 1: analysis.templates names 'missing'"),
        ([{"setHeaderRoute": {"name": "other", "match": []}}], "step 1: setHeaderRoute.name 'other' is not in trafficRouting.managedRoutes"),
        ([{"setHeaderRoute": {"name": "canary-header", "match": [{"headerName": "x", "headerValue": {"suffix": "a"}}]}}],
         "step 1: setHeaderRoute.match.0.headerValue: needs exactly one of exact, prefix, regex (given {'suffix': 'a'})"),
        ([{"experiment": {"templates": []}}], "step 1: experiment is valid Argo but not run by the local controller"),
        ([{"analysis": {"templates": [{"templateName": "gate"}], "args": [{"name": "h", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}}],
         "is not available on one machine"),
        ([{"analysis": {"templates": [{"templateName": "gate"}], "args": [{"name": "h", "valueFrom": {"podTemplateHashValue": "Newest"}}]}}],
         "step 1: analysis.args.0.valueFrom.podTemplateHashValue: input should be 'Stable' or 'Latest' (given 'Newest')"),
    ],
)
def test_invalid_steps_are_refused_naming_step_and_field(steps, message):
    with pytest.raises(spec.SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        spec.parse_rollout(rollout(steps), TEMPLATES)


@pytest.mark.parametrize("value, seconds", [(30, 30), ("30", 30), ("30s", 30), ("5m", 300), ("1h", 3600), ("1.5m", 90)])
def test_pause_durations(value, seconds):
    assert spec.parse_rollout(rollout([{"pause": {"duration": value}}]), {}).steps[0].duration_s == seconds


def test_indefinite_pause_and_background_analysis():
    assert spec.parse_rollout(rollout([{"pause": {}}]), {}).steps[0].duration_s is None
    with pytest.raises(spec.SpecError, match="background analysis"):
        spec.parse_rollout(rollout([], analysis={"templates": []}), {})


def test_a_broken_condition_is_refused_at_load():
    doc = {"metadata": {"name": "t"}, "spec": {"metrics": [{"name": "m", "successCondition": "result >= ",
                                                            "provider": {"prometheus": {"query": "up"}}}]}}
    with pytest.raises(spec.SpecError, match="AnalysisTemplate t metric 'm': successCondition"):
        spec.parse_template(doc)


@pytest.mark.parametrize("provider, message", [
    ({}, "metric 'm': no provider specified"),
    ({"prometheus": {"query": "up"}, "web": {"url": "http://x"}}, "metric 'm': multiple providers specified"),
    ({"datadog": {"query": "avg:x"}}, "metric 'm': only the prometheus and web providers run locally"),
    ({"prometheus": {"address": "http://p"}}, "metric 'm': provider.prometheus: query is missing"),
])
def test_a_metric_names_exactly_one_provider_that_runs_here(provider, message):
    doc = {"metadata": {"name": "t"}, "spec": {"metrics": [{"name": "m", "provider": provider}]}}
    with pytest.raises(spec.SpecError, match=message):
        spec.parse_template(doc)


def test_each_provider_has_its_args_substituted_and_names_its_type():
    rollout_spec = spec.load(ROOT / "k8s")
    kinds = {m.name: m.source.kind for t in rollout_spec.templates.values() for m in t.metrics}
    assert kinds["success-rate"] == "Prometheus" and kinds["shadow"] == "Web"
    shadow = next(s for s in rollout_spec.steps if isinstance(s, spec.Analysis))
    metrics = args.metrics_for(rollout_spec, shadow, "v2", {"judge-address": "http://judge"},
                               {"Stable": "s1", "Latest": "c1"})
    assert all("{{" not in m.source.call.url for m in metrics) and "http://judge" in metrics[0].source.call.url


def test_the_shipped_rollout_loads():
    rollout_spec = spec.load(ROOT / "k8s")
    assert [type(s).__name__ for s in rollout_spec.steps] == [
        "SetCanaryScale", "SetMirrorRoute", "Analysis", "SetMirrorRoute",
        "SetWeight", "SetCanaryScale", "SetHeaderRoute", "Analysis", "SetWeight", "Analysis", "SetWeight"]
    assert [m.name for m in rollout_spec.templates["shadow"].metrics] == ["shadow", "disagreement"]
    metric = {m.name: m for m in rollout_spec.templates["success-rate"].metrics}["success-rate"]
    assert (metric.interval_s, metric.count, metric.initial_delay_s, metric.failure_limit) == (30, 6, 30, 1)
    assert metric.consecutive_error_limit == 4
    assert yaml.safe_load((ROOT / "k8s/base/rollout.yaml").read_text())["metadata"]["name"] == rollout_spec.name


def test_a_metric_asked_more_often_than_once_a_second_is_refused_as_argo_would_burst_it():
    """The shipped judge template at its old 250ms: Argo took its measurements in bursts and ended early."""
    doc = yaml.safe_load((ROOT / "k8s/base/analysistemplate-judge.yaml").read_text())
    assert {m["name"]: m["interval"] for m in doc["spec"]["metrics"]} == {"judge": "1s", "quality": "1s"}
    doc["spec"]["metrics"][0].update(interval="250ms", count=720)
    with pytest.raises(spec.SpecError, match="metric 'judge': interval: '250ms' is under 1s: Argo Rollouts takes"):
        spec.parse_template(doc)


@pytest.mark.parametrize("body, scale", [({"replicas": 1}, "replicas 1"), ({"weight": 20}, "weight 20"),
                                         ({"matchTrafficWeight": True}, "matchTrafficWeight")])
def test_set_canary_scale_is_read_as_argo_reads_it(body, scale):
    from canary.rollout import spec

    assert spec._step(0, {"setCanaryScale": body}, [], {}) == spec.SetCanaryScale(scale)


@pytest.mark.parametrize("fields, message", [
    ({"progressDeadlineSeconds": -5}, "Rollout wine: spec.progressDeadlineSeconds: input should be greater than or equal to 0"),
    ({"progressDeadlineSeconds": "10m"}, "spec.progressDeadlineSeconds: input should be a valid integer \\(given '10m'\\)"),
    ({"progressDeadlineSeconds": 30, "minReadySeconds": 30}, "must be greater than minReadySeconds 30"),
    ({"minReadySeconds": 700}, "spec.progressDeadlineSeconds: 600 must be greater than minReadySeconds 700"),
])
def test_a_progress_deadline_argo_would_refuse_is_refused(fields, message):
    doc = rollout([{"setWeight": 10}])
    doc["spec"].update(fields)
    with pytest.raises(spec.SpecError, match=message):
        spec.parse_rollout(doc, {})


def test_the_progress_deadline_and_its_abort_are_read_with_argos_default():
    assert spec.parse_rollout(rollout([]), {}).progress_deadline_s == 600
    doc = rollout([])
    doc["spec"].update(progressDeadlineSeconds=120, minReadySeconds=10, progressDeadlineAbort=True)
    parsed = spec.parse_rollout(doc, {})
    assert (parsed.progress_deadline_s, parsed.progress_deadline_abort) == (120, True)


@pytest.mark.parametrize("body, message", [
    ({"replicas": -1}, "step 1: setCanaryScale.replicas: input should be greater than or equal to 0"),
    ({"weight": 101}, "step 1: setCanaryScale.weight: input should be less than or equal to 100"),
    ({"replicas": "1"}, "step 1: setCanaryScale.replicas: input should be a valid integer"),
])
def test_a_canary_scale_argo_would_refuse_is_refused(body, message):
    with pytest.raises(spec.SpecError, match=message):
        spec.parse_rollout(rollout([{"setCanaryScale": body}]), {})


def test_a_field_argo_has_and_the_local_controller_does_not_read_is_ignored_not_refused():
    steps = [{"analysis": {"templates": [{"templateName": "gate"}], "dryRun": [{"metricName": "x"}]}}]
    parsed = spec.parse_rollout(rollout(steps, abortScaleDownDelaySeconds=5, scaleDownDelaySeconds=7), TEMPLATES)
    assert parsed.steps == [spec.Analysis(("gate",))]
    assert (parsed.abort_scale_down_delay_s, parsed.scale_down_delay_s) == (5, 7)


def test_an_empty_field_is_no_field_as_the_api_server_prunes_it():
    steps = [{"setMirrorRoute": {"name": "canary-header", "match": None, "percentage": None}},
             {"analysis": {"templates": [{"templateName": "gate"}], "args": None}}]
    parsed = spec.parse_rollout(rollout(steps), TEMPLATES)
    assert parsed.steps == [spec.SetMirrorRoute("canary-header", 100, ()), spec.Analysis(("gate",))]


@pytest.mark.parametrize("duration", [True, [30], {"s": 1}])
def test_a_pause_duration_is_a_number_or_a_text_never_a_bool(duration):
    with pytest.raises(spec.SpecError, match="step 1: pause.duration"):
        spec.parse_rollout(rollout([{"pause": {"duration": duration}}]), {})


def test_a_refusal_names_the_field_and_not_the_whole_document():
    doc = rollout([{"setWeight": 10}])
    doc["spec"].update(minReadySeconds=700, template={"metadata": {"labels": {"padding": "x" * 5000}}})
    with pytest.raises(spec.SpecError) as refused:
        spec.parse_rollout(doc, {})
    assert str(refused.value) == ("Rollout wine: spec.progressDeadlineSeconds: 600 must be greater than "
                                  "minReadySeconds 700 (given 600)")
