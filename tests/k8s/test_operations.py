"""What make does to a running cluster: a rollout changes the pod template only, a re-deploy
leaves alone what Argo Rollouts and the HPA own, a finished load generator can be restarted."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.k8s.support import ROOT, by_kind, render

pytestmark = pytest.mark.tools

LABEL = "ml-canary.io/rewritten-by"


def make_n(target: str, *settings: str) -> str:
    """The commands ``make target`` would run, also when the tests themselves run under make."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    out = subprocess.run(["make", "--no-print-directory", "-n", target, *settings], cwd=ROOT, capture_output=True, text=True,
                         env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("component", ["components/v2", "components/faulty-v2"])
def test_a_rollout_patch_replaces_the_pod_template_and_nothing_else(component, tmp_path):
    docs = render("overlays/mlserver", (component,), tmp_path)
    rendered = "\n---\n".join(json.dumps(d) for d in docs)
    out = subprocess.run([sys.executable, "hack/template_patch.py"], cwd=ROOT,
                         input=rendered, capture_output=True, text=True, check=True)
    patch = json.loads(out.stdout)
    assert [(p["op"], p["path"]) for p in patch] == [("replace", "/spec/template")]
    assert patch[0]["value"] == by_kind(docs, "Rollout")["wine"]["spec"]["template"]


def test_faults_given_to_a_rollout_reach_the_runtime_and_a_malformed_one_is_refused(tmp_path):
    rendered = "\n---\n".join(json.dumps(d) for d in render("overlays/mlserver", ("components/v2",), tmp_path))
    run = lambda *args: subprocess.run([sys.executable, "hack/template_patch.py", *args], cwd=ROOT,  # noqa: E731
                                       input=rendered, capture_output=True, text=True)
    env = json.loads(run("FAULT_ERROR_RATIO=1.0", "FAULT_LATENCY_MS=50").stdout)[0]["value"]["spec"]["containers"][0]["env"]
    assert env[-2:] == [{"name": "FAULT_ERROR_RATIO", "value": "1.0"}, {"name": "FAULT_LATENCY_MS", "value": "50"}]
    bad = run("FAULT_ERROR_RATIO")
    assert bad.returncode != 0 and "'FAULT_ERROR_RATIO' is not NAME=VALUE" in bad.stderr and bad.stdout == ""
    assert "hack/template_patch.py FAULT_WRONG_RATIO=0.3 |" in make_n("rollout-v2", "FAULTS=FAULT_WRONG_RATIO=0.3")


@pytest.mark.parametrize("target", ["rollout-v2", "rollout-faulty-v2"])
def test_the_rollout_targets_patch_the_template_instead_of_applying_the_render(target):
    commands = make_n(target).splitlines()[-1]
    named = 'patch rollout "$(NAMESPACE=ml-canary hack/deployment.sh get MODEL)" --type json'  # the Rollout is the model
    assert "hack/template_patch.py" in commands and named in commands
    assert "kubectl apply" not in commands


@pytest.mark.parametrize("target", ["rollout-v2", "rollout-faulty-v2", "notifications"])
def test_what_acts_on_a_cluster_needs_a_venv_with_pyyaml_only_not_the_runtimes(target, tmp_path):
    pin = re.search(r'"(PyYAML==[^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)  # the runtimes' own pin
    commands = make_n(target, f"VENV={tmp_path}/runtimes", f"VENV_OPS={tmp_path}/ops")
    assert f"-m venv {tmp_path}/ops" in commands and f"pip install --quiet {pin}" in commands
    assert f"{tmp_path}/runtimes" not in commands, commands


def test_the_objects_argo_rewrites_are_labelled_and_deploy_never_reapplies_them():
    docs = render("overlays/mlserver")
    istio = by_kind(docs, "Rollout")["wine"]["spec"]["strategy"]["canary"]["trafficRouting"]["istio"]
    rewritten = {("VirtualService", v["name"]) for v in istio.get("virtualServices") or [istio["virtualService"]]}
    rewritten.add(("DestinationRule", istio["destinationRule"]["name"]))
    labelled = {(d["kind"], d["metadata"]["name"]) for d in docs if d["metadata"].get("labels", {}).get(LABEL)}
    assert labelled == rewritten
    deploy = make_n("deploy")
    assert f"kubectl apply --server-side --force-conflicts --field-manager=ml-canary -l '{LABEL}!=argo-rollouts'" in deploy
    assert "model=$(NAMESPACE=ml-canary hack/deployment.sh get MODEL)" in deploy
    assert "get virtualservice/$model-rest virtualservice/$model-grpc destinationrule/$model" in deploy  # the rest only when missing


def test_a_rollout_scaled_by_an_hpa_sets_no_replicas():
    docs = render("overlays/mlserver")
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in by_kind(docs, "HorizontalPodAutoscaler").values()}
    for name in targets:
        assert "replicas" not in by_kind(docs, "Rollout")[name]["spec"], "every apply would reset the HPA's choice"


def test_make_loadgen_replaces_a_finished_job():
    lines = make_n("loadgen").splitlines()
    assert lines[0].startswith("kubectl -n ml-canary delete job loadgen --ignore-not-found")


def _deployment(tmp_path, saved: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """hack/deployment.sh with a kubectl that answers the saved settings' read with ``saved`` (no cluster here)."""
    (tmp_path / "kubectl").write_text(f"#!/bin/sh\nprintf '%s' '{saved}'\n")
    (tmp_path / "kubectl").chmod(0o755)
    clean = {k: v for k, v in os.environ.items() if k not in ("MODEL", "HOST", "TLS_SECRET", "REGISTRY", "TAG")}
    return subprocess.run(["hack/deployment.sh", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**clean, "PATH": f"{tmp_path}:{os.environ['PATH']}", **env})


def test_the_model_name_is_a_deployment_setting_and_names_the_host_and_secret_unless_they_are_given(tmp_path):
    shown = _deployment(tmp_path, "", "show", MODEL="fraud").stdout.splitlines()
    assert {"MODEL=fraud", "HOST=fraud.example.com", "TLS_SECRET=fraud-tls"} <= set(shown)
    assert _deployment(tmp_path, "MODEL=fraud\nHOST=fraud.acme.com\n", "get", "MODEL").stdout == "fraud\n"  # saved
    assert _deployment(tmp_path, "MODEL=fraud\nHOST=fraud.acme.com\n", "get", "HOST").stdout == "fraud.acme.com\n"
    assert _deployment(tmp_path, "", "get", "MODEL").stdout == "wine\n"
    bad = _deployment(tmp_path, "", "show", MODEL="Fraud!")
    assert bad.returncode == 2 and "MODEL=Fraud! is not a model name" in bad.stderr and bad.stdout == ""


def test_a_host_made_from_the_model_is_not_saved_and_another_model_beside_a_deployed_one_is_refused(tmp_path):
    saved = _deployment(tmp_path, "", "configmap", MODEL="fraud").stdout
    assert 'MODEL: "fraud"' in saved and 'HOST: ""' in saved  # it follows MODEL at the next render
    refused = _deployment(tmp_path, "MODEL=fraud\nREGISTRY=r\n", "check", MODEL="cancer")
    assert refused.returncode == 2 and "serves model fraud, not cancer: 'make undeploy' it first" in refused.stderr
    assert _deployment(tmp_path, "MODEL=fraud\nREGISTRY=r\n", "check").returncode == 0


def test_the_rollout_patch_finds_the_renders_rollout_whatever_the_model_is_named(tmp_path):
    rendered = subprocess.run(["hack/render.sh", "mlserver", "components/v2"], cwd=ROOT, capture_output=True,
                              text=True, env={**os.environ, "MODEL": "fraud"}, check=True).stdout
    out = subprocess.run([sys.executable, "hack/template_patch.py"], cwd=ROOT, input=rendered, capture_output=True,
                         text=True, check=True)
    template = json.loads(out.stdout)[0]["value"]
    assert template["metadata"]["labels"]["app"] == "fraud"
    env = {e["name"]: e.get("value") for e in template["spec"]["containers"][0]["env"]}
    assert env["MODEL_NAME"] == "fraud"  # the runtime serves /v2/models/fraud/infer, as the routes say
