"""What Argo Rollouts refuses, as the real API server (the CRDs' schemas) and the real controller (its
InvalidSpec) decide it: the shipped Rollout is accepted, and each mutation below is refused. Each
mutation goes to a namespace of its own, with the Rollout, its AnalysisTemplates and its routes."""

import itertools
import time

import pytest
import yaml

from tests.cluster.conftest import Cluster
from tests.k8s.support import by_kind, render
from tests.k8s.test_manifests import OVERLAYS
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

_NAMES = itertools.count()


def verdict(cluster: Cluster, mutate=None, overlay: str = "overlays/mlserver") -> str:
    """'' when the Rollout is accepted and Argo runs it, else the refusal: the API server's or Argo's."""
    docs = [d for d in render(overlay)
            if d["kind"] in ("Rollout", "AnalysisTemplate", "VirtualService", "DestinationRule", "ServiceAccount")]
    if mutate:
        mutate(docs)
    namespace = f"argo-check-{next(_NAMES)}"
    for d in docs:
        d["metadata"]["namespace"] = namespace
    cluster.kubectl("create", "namespace", namespace)
    try:
        # What the Rollout names first, then the Rollout: Argo's first look finds its routes and templates.
        for part in ([d for d in docs if d["kind"] != "Rollout"], [d for d in docs if d["kind"] == "Rollout"]):
            applied = cluster.kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(part), check=False)
            if applied.returncode:
                return applied.stderr
        return argo_says(cluster, namespace)
    finally:
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def argo_says(cluster: Cluster, namespace: str) -> str:
    """Argo's InvalidSpec message ('' for none), once it has looked at this generation and says the same a
    second later (a first look can precede its informers seeing the templates; steadiness is the condition,
    the second its interval)."""
    def looked() -> str | None:
        rollout = cluster.get("rollout", "wine", namespace)
        status = rollout.get("status", {})
        if str(status.get("observedGeneration")) != str(rollout["metadata"]["generation"]):
            return None
        return "\n".join(c["message"] for c in status.get("conditions", []) if c["type"] == "InvalidSpec") or "ok"
    said = [wait_until(looked, 60, "Argo's look at the Rollout")]

    def steady() -> bool:
        time.sleep(1)
        said.append(wait_until(looked, 60, "Argo's look at the Rollout"))
        return said[-1] == said[-2]
    wait_until(steady, 60, "a steady verdict from Argo")
    return "" if said[-1] == "ok" else said[-1]


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


def _no_weight_arg(spec):
    for step in _steps(spec):
        if "analysis" in step:
            step["analysis"]["args"] = [a for a in step["analysis"]["args"] if a["name"] != "canary-weight"]


REFUSED = [
    (_rollout(lambda s: _first(s, "setWeight").update(pause={})), "Step must have one of the following set"),
    (_rollout(lambda s: _steps(s).append({})), "Step must have one of the following set"),
    (_rollout(lambda s: _first(s, "setWeight").update(setWeight=110)), "SetWeight needs to be between 0 and 100"),
    (_rollout(lambda s: _first(s, "setHeaderRoute")["setHeaderRoute"].update(name="testers")),
     "Steps define a route that does not exist"),
    (_rollout(lambda s: _first(s, "setHeaderRoute")["setHeaderRoute"]["match"][0].pop("headerValue")),
     "headerValue: Required value"),
    (_rollout(lambda s: _first(s, "setHeaderRoute")["setHeaderRoute"]["match"][0]["headerValue"].update(prefix="al")),
     "StringMatch match value must have exactly one of the following"),
    (_rollout(lambda s: _routing(s).pop("istio")), "SetMirrorRoute requires TrafficRouting, supports Istio only"),
    (_rollout(lambda s: _routing(s)["istio"]["virtualServices"][1].update(routes=["main"])),
     "HTTP Route 'main' is not found in the defined Virtual Service."),
    (_rollout(lambda s: _routing(s)["istio"]["destinationRule"].update(canarySubsetName="preview")),
     "Canary DestinationRule subset 'preview' not found in route"),
    (_rollout(lambda s: s.update(minReadySeconds=600)), "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"),
    (_rollout(lambda s: s["template"]["metadata"]["labels"].update(app="wine-v2")),
     "`selector` does not match template `labels`"),
    (_rollout(_no_weight_arg), "args.canary-weight was not resolved"),
    (_template("judge", lambda s: s["metrics"][0].pop("count")), "which runs indefinitely"),
    (_template("judge", lambda s: s["metrics"][0]["provider"]["web"].update(url="{{args.judge-url}}/v1/judge")),
     "failed to resolve {{args.judge-url}}"),
    (_template("success-rate", lambda s: s["args"][0].update(valueFrom={"secretKeyRef": {"name": "s", "key": "k"}}, value="x")),
     "has both Value and ValueFrom fields"),
]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_shipped_rollout_is_accepted(cluster, overlay):
    assert verdict(cluster, overlay=overlay) == ""


@pytest.mark.parametrize("mutate, message", REFUSED, ids=[m for _, m in REFUSED])
def test_what_argo_rollouts_refuses_is_refused(cluster, mutate, message):
    refusal = verdict(cluster, mutate)
    assert message in refusal, refusal
