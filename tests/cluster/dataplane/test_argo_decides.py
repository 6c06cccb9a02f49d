"""The shipped Rollout under the real Argo Rollouts controller, with real runtimes behind its pods.

Nothing here decides but upstream Argo: its AnalysisRuns ask the local Prometheus and the judge,
the local Envoy routes as the VirtualService Argo writes, and the load generator is the users.
A faulty v2 must be aborted in the shadow phase with no user request answered by it; a healthy
one aborted by hand, retried, and promoted through every step by the analysis alone; and a shadow
phase whose mirror Argo skipped must abort, not pass.
"""

import json

import httpx
import pytest

from tests.cluster.argo_view import analyses, at_step, rollout, routes, weights
from tests.cluster.dataplane.conftest import Served
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]  # the fixture's start (a control plane, the autoscaler's first act) included


def roll_out(served: Served, faults: str = "") -> str:
    """``make rollout-v2 FAULTS=...``, as a person runs it; the new revision's hash."""
    before = rollout(served)["status"].get("currentPodHash")
    done = served.make("rollout-v2", f"FAULTS={faults}")  # no REGISTRY: the deployment's, as saved
    assert done.returncode == 0, done.stderr
    return wait_until(lambda: (h := rollout(served)["status"].get("currentPodHash")) != before and h, 60, "a new revision")


def aborted(served: Served, timeout_s: float) -> str:
    """The abort message, once Argo has aborted the rollout and every route is back on stable."""
    def done():
        status = rollout(served)["status"]
        return status.get("abort") and status.get("phase") == "Degraded" and status.get("message")
    try:
        message = wait_until(done, timeout_s, "Argo to abort the rollout")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nrollout: {rollout(served)['status']}\n{analyses(served)}") from None
    wait_until(lambda: all(weights(r).get("canary", 0) == 0 for r in routes(served) if r["name"] in ("primary", "grpc"))
               and not {r["name"] for r in routes(served)} & {"mirror-route", "canary-header"}, 60,
               "every route back on stable, Argo's own routes gone")
    return message


def envoy_split(served: Served) -> dict[str, int]:
    """The local Envoy's primary route as it serves now: version -> weight, from its own config dump."""
    dump = httpx.get(f"http://127.0.0.1:{served.harness.settings.envoy_admin_port}/config_dump",
                     params={"resource": "dynamic_route_configs"}, timeout=5).json()
    primary = next(r for c in dump["configs"] for h in c["route_config"]["virtual_hosts"] for r in h["routes"]
                   if r.get("name") == "primary")
    return {c["name"].removeprefix("wine-"): c["weight"] for c in primary["route"]["weighted_clusters"]["clusters"]}


def set_ready(served: Served, pod: str, ready: bool) -> None:
    """Flip a pod's Ready condition, as a failing or passing readiness probe does."""
    patch = {"status": {"conditions": [{"type": "Ready", "status": str(ready)}]}}
    served.kubectl("-n", "ml-canary", "patch", "pod", pod, "--subresource=status", "-p", json.dumps(patch))


def test_a_shadow_phase_without_copies_aborts_instead_of_passing(served, users):
    """Argo marks setMirrorRoute done without writing the route while stable is short of available pods
    (rollout/trafficrouting.go, reconcileTrafficRouting): one stable pod unready at that moment is enough.
    A minute of "no evidence yet" must not pass the shadow step and hand users an unjudged canary; nor may
    Argo take the minute's measurements in a burst (it keeps their times in whole seconds)."""
    stable = rollout(served)["status"]["stableRS"]
    pod = next(p["metadata"]["name"] for p in served.get("pods")["items"]
               if p["metadata"]["labels"].get("rollouts-pod-template-hash") == stable)
    set_ready(served, pod, False)
    try:
        roll_out(served)
        at_step(served, 2, 120)  # the shadow analysis, with the mirror step marked done...
        assert "mirror-route" not in {r["name"] for r in routes(served)}  # ...and no mirror written
        message = aborted(served, 180)
        assert "assessed Error" in message and "409" in message, message  # the judge: no copy within grace_s
    finally:
        set_ready(served, pod, True)
    whole = lambda: (r := rollout(served))["status"].get("availableReplicas") == r["spec"].get("replicas")  # noqa: E731
    wait_until(whole, 120, "stable whole again")  # aborted, so Degraded: no steady() here
    assert set(users.answered()) == {"v1"}  # never a weight


def test_a_v2_failing_every_request_is_aborted_by_argo_in_the_shadow_phase(served, users):
    roll_out(served, "FAULT_ERROR_RATIO=1.0")
    message = aborted(served, 240)
    assert 'Metric "shadow" assessed Failed' in message, message  # the judge, on the copies v2 answered
    answered = users.answered()
    assert set(answered) == {"v1"} and answered["v1"]["success_ratio"] >= 0.999, answered


def test_a_v2_answering_30_percent_wrongly_is_aborted_by_argo_in_the_shadow_phase(served, users):
    roll_out(served, "FAULT_WRONG_RATIO=0.3")
    message = aborted(served, 240)
    assert 'Metric "disagreement" assessed Failed' in message, message  # its answers differ from stable's
    answered = users.answered()
    assert set(answered) == {"v1"} and answered["v1"]["success_ratio"] >= 0.999, answered


def plugin(served: Served, *args: str) -> None:
    """kubectl argo rollouts ... wine, the plugin built by make cluster-tools."""
    served.kubectl("argo", "rollouts", "-n", "ml-canary", *args)


@pytest.mark.timeout(1200)  # Argo's analysis in real time: a minute of shadow, then two steps of three and a half
def test_a_healthy_v2_aborted_by_hand_then_retried_is_promoted_through_every_step_by_the_analysis(served, users):
    earlier = {r["metadata"]["name"] for r in served.get("analysisrun")["items"]}
    canary = roll_out(served)

    # abort: every route back on stable; retry: the same revision from the first step again.
    at_step(served, 2, 120)
    plugin(served, "abort", "wine")
    message = aborted(served, 60)
    assert message.startswith("RolloutAborted") and "analysis" not in message, message  # by hand, not by a metric
    wait_until(lambda: envoy_split(served) == {"v1": 100}, 30, "Envoy's routes back on v1")
    plugin(served, "retry", "rollout", "wine")
    at_step(served, 2, 120)
    assert rollout(served)["status"]["currentPodHash"] == canary
    wait_until(lambda: routes(served)[0]["name"] == "mirror-route", 30, "the mirror route again")

    # Each weighted step as Argo wrote it, and the local Envoy following it; the analysis alone moves on.
    for step, weight in ((7, 10), (9, 50)):
        at_step(served, step, 300)
        http = {r["name"]: r for r in routes(served)}
        assert "mirror-route" not in http and routes(served)[0]["name"] == "canary-header"
        assert weights(http["primary"]) == weights(http["grpc"]) == {"stable": 100 - weight, "canary": weight}
        wait_until(lambda: envoy_split(served) == {"v1": 100 - weight, "v2": weight}, 30, f"Envoy at {weight}% v2")
    wait_until(lambda: (s := rollout(served)["status"]).get("stableRS") == canary and s.get("phase") == "Healthy",
               400, "v2 promoted by the analysis")
    wait_until(lambda: envoy_split(served) == {"v2": 100}, 30, "Envoy's routes all on v2")
    assert not [r["metadata"]["name"] for r in served.get("analysisrun")["items"]
                if r["metadata"]["name"] not in earlier and r["status"]["phase"] != "Successful"]
    answered = users.answered()
    assert set(answered) == {"v1", "v2"} and min(u["success_ratio"] for u in answered.values()) >= 0.999, answered
