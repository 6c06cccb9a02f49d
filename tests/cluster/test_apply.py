"""Every overlay with every component, as kube-apiserver takes it: the CRDs' schemas, the built-in
types' validation and the admission chain decide (server-side apply, dry run: nothing is changed)."""

import pytest
import yaml

from canary.polling import wait_until
from tests.k8s.support import render
from tests.k8s.test_manifests import OVERLAYS

pytestmark = pytest.mark.integration

COMPONENTS = [(), ("components/v2",), ("components/faulty-v2",), ("components/loadgen",), ("components/tracing",)]


@pytest.mark.parametrize("components", COMPONENTS, ids=lambda c: "+".join(c) or "alone")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_render_is_accepted_by_the_api_server(deployed, overlay, components, tmp_path):
    docs = render(overlay, components, tmp_path) if components else render(overlay)
    done = deployed.kubectl("apply", "--server-side", "--dry-run=server", "--force-conflicts",
                            "--field-manager=ml-canary", "-f", "-", stdin=yaml.safe_dump_all(docs), check=False)
    assert done.returncode == 0, done.stderr


def test_a_render_the_schema_refuses_is_refused(deployed):
    docs = render("overlays/mlserver")
    routes = next(d for d in docs if d["kind"] == "VirtualService" and d["metadata"]["name"] == "wine")["spec"]["http"]
    next(r for r in routes if r["name"] == "rest")["retries"]["attempts"] = "three"
    done = deployed.kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump_all(docs),
                            check=False)
    assert done.returncode != 0 and "attempts" in done.stderr, done.stderr


def test_deploy_makes_the_answers_token_once_and_both_ends_mount_it(deployed):
    token = deployed.get("secret", "ml-canary-answers")["data"]["token"]
    again = deployed.make("deploy")  # a second deploy (a new HOST, a new TAG) keeps the token the pods hold
    assert again.returncode == 0, again.stderr
    assert deployed.get("secret", "ml-canary-answers")["data"]["token"] == token and len(token) > 20
    assert token not in again.stdout + again.stderr
    judge = deployed.get("statefulset", "ml-canary-judge")["spec"]["template"]["spec"]
    runtime = deployed.get("rollout", "wine")["spec"]["template"]["spec"]
    for spec in (judge, runtime):
        volume = next(v for v in spec["volumes"] if v["name"] == "answers")["secret"]
        assert (volume["secretName"], volume["optional"]) == ("ml-canary-answers", True)


def test_make_tracing_runs_the_collector_and_jaeger_and_changes_no_pod_template(deployed):
    template = deployed.get("rollout", "wine")["spec"]["template"]
    done = deployed.make("tracing")
    assert done.returncode == 0, done.stderr
    for name in ("otel-collector", "jaeger"):  # KWOK's pods turn ready: the Deployment becomes available
        assert wait_until(lambda: deployed.get("deployment", name).get("status", {}).get("availableReplicas") == 1,
                          60, every_s=0.5), deployed.get("deployment", name).get("status")
    assert deployed.get("rollout", "wine")["spec"]["template"] == template  # no new revision, no rollout
    labelled = deployed.kubectl("-n", "ml-canary", "get", "deployments,services,configmaps,networkpolicies", "-l",
                                "app.kubernetes.io/component=tracing", "-o", "name").stdout.split()
    assert sorted(labelled) == ["configmap/jaeger", "configmap/otel-collector", "deployment.apps/jaeger",
                                "deployment.apps/otel-collector", "networkpolicy.networking.k8s.io/jaeger",
                                "networkpolicy.networking.k8s.io/otel-collector", "service/jaeger-collector",
                                "service/jaeger-query", "service/otel-collector"]
