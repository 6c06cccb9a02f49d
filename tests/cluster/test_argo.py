"""The shipped Rollout under the real Argo Rollouts controller: what it creates, and the VirtualService and
DestinationRule it writes at each step, checked against what the project expects of them.

No data plane answers here (the judge's and Prometheus' in-cluster names do not resolve from the host,
so every AnalysisRun errs after its retries); each analysis step is passed with the plugin's
``promote`` well within its error budget (five errors, ten seconds apart)."""

import json
import math

import pytest

from tests.cluster.argo_view import at_step, rollout, routes, taken, weights
from tests.cluster.conftest import HOST, NAMESPACE, REGISTRY, Cluster
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def analysis_args(cluster: Cluster, step: int) -> dict[str, str]:
    """The arguments Argo resolved for the AnalysisRun of step ``step`` of the current revision."""
    def created():
        runs = cluster.get("analysisrun")["items"]
        return [r for r in runs if r["metadata"]["labels"].get("step-index") == str(step)
                and r["metadata"]["labels"].get("rollouts-pod-template-hash") == rollout(cluster)["status"]["currentPodHash"]]
    run = wait_until(created, 60, f"the AnalysisRun of step {step}")[0]
    return {a["name"]: a.get("value") for a in run["spec"]["args"]}


def test_argo_brings_up_the_stable_revision_and_routes_all_traffic_to_it(deployed):
    status = wait_until(lambda: (s := rollout(deployed).get("status", {})).get("phase") == "Healthy" and s,
                        60, "rollout wine Healthy")
    subsets = {s["name"]: s["labels"] for s in deployed.get("destinationrule", "wine")["spec"]["subsets"]}
    assert subsets["stable"]["rollouts-pod-template-hash"] == status["stableRS"]
    assert {weights(r)["stable"] for r in routes(deployed) if r["name"] in ("primary", "grpc")} == {100}
    pods = deployed.get("pods")["items"]
    assert {p["metadata"]["labels"].get("app") for p in pods if p["status"].get("phase") == "Running"} >= {"wine"}
    refused = [e["message"] for e in deployed.get("events")["items"] if e["reason"] == "FailedCreate"]
    assert refused == []


def test_deploy_again_changes_nothing(deployed):
    spec = lambda kind: deployed.get(kind, "wine")["spec"]  # noqa: E731
    before = {kind: spec(kind) for kind in ("rollout", "virtualservice", "destinationrule", "horizontalpodautoscaler")}
    done = deployed.make("deploy")  # no REGISTRY, no HOST: the first deploy's, as saved
    assert done.returncode == 0, done.stderr
    assert {kind: spec(kind) for kind in before} == before
    assert deployed.get("gateway", "wine-gateway")["spec"]["servers"][0]["hosts"] == [HOST]


def test_the_settings_of_a_deployment_are_kept_and_a_deploy_without_a_registry_is_refused(deployed):
    shown = deployed.make("deployment", "TAG=0.2.0").stdout.splitlines()
    assert shown == [f"REGISTRY={REGISTRY}", "TAG=0.2.0", "MODEL=wine", f"HOST={HOST}", "TLS_SECRET=wine-tls",
                     "OVERLAY=mlserver"]
    before = deployed.get("rollout", "wine")["metadata"]["resourceVersion"]
    # A namespace no deploy has saved settings in: nothing says where the images are.
    refused = deployed.make("deploy", "NAMESPACE=ml-canary-elsewhere")
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode != 0 and "no REGISTRY" in lines[0] and "make images push deploy REGISTRY=" in lines[0]
    assert deployed.get("rollout", "wine")["metadata"]["resourceVersion"] == before  # nothing applied
    bad = deployed.make("deployment", "TAG=a b")
    assert bad.returncode != 0 and "TAG=a b is not an image tag" in bad.stderr


def shadow_pods(cluster: Cluster, canary: str) -> tuple[int, int]:
    """(canary pods, half the Rollout's replicas rounded up): setCanaryScale weight 50 of the HPA's count."""
    replicas = rollout(cluster)["spec"].get("replicas", 1)
    pods = [p for p in cluster.get("pods")["items"] if p["metadata"]["labels"].get("rollouts-pod-template-hash") == canary]
    return len(pods), math.ceil(replicas / 2)


def evict(cluster: Cluster, role: str) -> str:
    """Ask the eviction API (a dry run) for one pod of this role, as a node drain does: '' when it may go, or why not."""
    pod = next(p["metadata"]["name"] for p in cluster.get("pods")["items"] if p["metadata"]["labels"].get("role") == role)
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": NAMESPACE},
            "deleteOptions": {"dryRun": ["All"]}}
    done = cluster.kubectl("create", "--raw", f"/api/v1/namespaces/{NAMESPACE}/pods/{pod}/eviction", "-f", "-",
                           stdin=json.dumps(body), check=False)
    return done.stderr.strip()


def budgets_counted(cluster: Cluster) -> bool:
    """The disruption controller has counted both budgets' pods."""
    status = {name: cluster.get("pdb", name).get("status", {}) for name in ("wine", "wine-canary")}
    return status["wine"].get("disruptionsAllowed", 0) >= 1 and status["wine-canary"].get("expectedPods", 0) >= 1


def test_the_shipped_steps_as_argo_writes_them(deployed):
    stable = wait_until(lambda: rollout(deployed).get("status", {}).get("stableRS"), 60, "a stable revision")
    done = deployed.make("rollout-v2")  # no REGISTRY: the deployment's, as saved
    assert done.returncode == 0, done.stderr
    canary = wait_until(lambda: (h := rollout(deployed)["status"].get("currentPodHash")) != stable and h, 60, "v2")
    image = rollout(deployed)["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"{REGISTRY}/ml-canary-mlserver:0.1.0"

    # The shadow phase: half as many canary pods as stable's, half the predictions copied to them, no weight.
    at_step(deployed, 2)
    wait_until(lambda: (n := shadow_pods(deployed, canary))[0] == n[1] and n, 60, "half as many canary pods as stable's")
    # A node drain may take a stable pod, never the canary's last (the real eviction API and budgets decide).
    wait_until(lambda: budgets_counted(deployed), 60, "the disruption budgets to count their pods")
    assert evict(deployed, "stable") == ""
    assert "disruption budget" in evict(deployed, "canary")
    assert analysis_args(deployed, 2) | {"judge-address": None} == {
        "canary-revision": canary, "stable-revision": stable, "judge-address": None}
    http = routes(deployed)
    assert http[0]["name"] == "mirror-route" and http[0]["mirror"]["subset"] == "canary"
    assert http[0]["mirrorPercentage"]["value"] == 50
    assert [m["method"] for m in http[0]["match"]] == [{"exact": "POST"}] * 2
    assert weights(http[0]) == {"stable": 100, "canary": 0}
    # istiod gives Argo's route the root's timeout and retries (it writes neither).
    copied = taken(deployed, 8080, "/v2/models/wine/infer", {})
    assert (copied["name"], copied["timeout"], copied["retries"]["retryOn"]) == (
        "rest-mirror-route", "5s", "connect-failure,refused-stream,reset")
    promote(deployed)

    # 10%: no mirror, the header route to the canary first, the weight on both routes Argo manages.
    assert analysis_args(deployed, 7)["canary-weight"] == "10"
    http = {r["name"]: r for r in routes(deployed)}
    assert "mirror-route" not in http and routes(deployed)[0]["name"] == "canary-header"
    assert http["canary-header"]["match"][0]["headers"] == {"x-canary": {"exact": "always"}}
    assert weights(http["canary-header"]) == {"canary": 100}
    assert weights(http["primary"]) == weights(http["grpc"]) == {"stable": 90, "canary": 10}
    # A tester's gRPC request reaches the canary's gRPC port, with the root's deadline (Argo writes a header
    # route into each delegate, with that delegate's port; istiod adds the root's port match and timeout).
    for port, path in ((8081, "/inference.GRPCInferenceService/ModelInfer"), (8080, "/v2/models/wine/infer")):
        tester = taken(deployed, port, path, {"x-canary": "always"})
        assert [(d["destination"]["subset"], d["destination"]["port"]["number"]) for d in tester["route"]] == [
            ("canary", port)]
        assert tester["timeout"] == "5s"
    promote(deployed)

    # 50%, then the promotion: v2 is stable and takes everything.
    assert analysis_args(deployed, 9)["canary-weight"] == "50"
    assert weights({r["name"]: r for r in routes(deployed)}["primary"]) == {"stable": 50, "canary": 50}
    promote(deployed)
    wait_until(lambda: rollout(deployed)["status"].get("stableRS") == canary, 60, "v2 promoted to stable")
    # Argo moves the subsets to v2's hash, then the weights back to the stable subset.
    wait_until(lambda: {weights(r)["stable"] for r in routes(deployed) if r["name"] in ("primary", "grpc")} == {100},
               60, "all traffic on the stable subset")
    subsets = {s["name"]: s["labels"] for s in deployed.get("destinationrule", "wine")["spec"]["subsets"]}
    assert subsets["stable"]["rollouts-pod-template-hash"] == canary


def promote(cluster: Cluster) -> None:
    """``kubectl argo rollouts promote wine``: past the current step (an analysis)."""
    step = rollout(cluster)["status"]["currentStepIndex"]
    cluster.kubectl("argo", "rollouts", "-n", "ml-canary", "promote", "wine")
    wait_until(lambda: rollout(cluster)["status"].get("currentStepIndex", 99) > step, 60, f"a step past {step}")
