"""Argo Rollouts' validation on every rendered Rollout, each rule proved by a Rollout it refuses."""

import pytest

from tests.k8s import argo
from tests.k8s.support import by_kind, problems_after


def _rollout(change):
    def mutate(docs):
        change(by_kind(docs, "Rollout")["wine"]["spec"])
    return mutate


def _template(name, change):
    def mutate(docs):
        change(by_kind(docs, "AnalysisTemplate")[name]["spec"])
    return mutate


def _steps(spec):
    return spec["strategy"]["canary"]["steps"]


def _first(spec, kind):
    """The first step of that kind: the mutations outlast a reordering of the steps."""
    return next(s for s in _steps(spec) if kind in s)


def _routing(spec):
    return spec["strategy"]["canary"]["trafficRouting"]


REFUSED = [
    (_rollout(lambda s: _first(s, "setWeight").update(pause={})), "Step must have one of the following set"),
    (_rollout(lambda s: _steps(s).append({})), "Step must have one of the following set"),
    (_rollout(lambda s: _first(s, "setWeight").update(setWeight=110)), "SetWeight needs to be between 0 and 100"),
    (_rollout(lambda s: _first(s, "setHeaderRoute")["setHeaderRoute"].update(name="testers")), "Steps define a route that does not exist"),
    (_rollout(lambda s: _first(s, "setHeaderRoute")["setHeaderRoute"]["match"][0]["headerValue"].update(prefix="al")),
     "StringMatch match value must have exactly one of the following"),
    (_rollout(lambda s: _routing(s).pop("istio")), "setHeaderRoute requires Istio traffic routing"),
    (_rollout(lambda s: _routing(s)["istio"]["virtualService"].update(routes=["main"])),
     "HTTP Route 'main' is not found in the defined Virtual Service."),
    (_rollout(lambda s: _routing(s)["istio"]["destinationRule"].update(canarySubsetName="preview")),
     "Canary DestinationRule subset 'preview' not found in route"),
    (_rollout(lambda s: s.update(minReadySeconds=600)), "progressDeadlineSeconds must be greater than minReadySeconds"),
    (_rollout(lambda s: s["template"]["metadata"]["labels"].update(app="wine-v2")), "`selector` does not match template `labels`"),
    (_template("judge", lambda s: s["metrics"][0].pop("count")), "has metric judge which runs indefinitely"),
    (_template("judge", lambda s: s["metrics"][0]["provider"]["web"].update(url="{{args.judge-url}}/v1/judge")),
     "failed to resolve {{args.judge-url}}"),
    (_template("success-rate", lambda s: s["args"][0].update(valueFrom={"podTemplateHashValue": "Latest"}, value="x")),
     "has both Value and ValueFrom fields"),
]


@pytest.mark.parametrize("mutate, message", REFUSED, ids=[m for _, m in REFUSED])
def test_what_argo_rollouts_refuses_is_refused(mlserver, mutate, message):
    problems = problems_after(mlserver, mutate, argo.check)
    assert any(message in p for p in problems), problems


def test_a_stuck_rollout_aborts_and_a_recent_revision_rolls_back_without_steps(mlserver):
    spec = by_kind(mlserver, "Rollout")["wine"]["spec"]
    assert spec.get("progressDeadlineAbort") is True  # else a never-ready canary holds its weight forever
    assert 1 <= spec.get("rollbackWindow", {}).get("revisions", 0) <= spec["revisionHistoryLimit"]


def test_the_header_route_leads_to_a_canary_that_has_pods(mlserver):
    """A setHeaderRoute before any setWeight (or setCanaryScale) routes testers to a canary with no pod."""
    steps = by_kind(mlserver, "Rollout")["wine"]["spec"]["strategy"]["canary"]["steps"]
    for i, step in enumerate(steps):
        if "setHeaderRoute" in step:
            before = steps[:i]
            assert any(s.get("setWeight", 0) > 0 or "setCanaryScale" in s for s in before), f"step {i + 1}"
