"""Pod Security "restricted", as kube-apiserver's own admission decides it: every pod template the
namespace will hold is admitted, with Istio's injected containers as well, and what restricted refuses
is refused (the admission's message)."""

import copy
import json

import pytest

from tests.cluster.injected import inject
from tests.k8s import crossref
from tests.k8s.support import by_kind, render
from tests.k8s.test_manifests import OVERLAYS

pytestmark = pytest.mark.integration


def admit(cluster, template: dict, name: str) -> str:
    """Create a pod of this template in dry run (admission runs, nothing is stored): '' or the refusal."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "ml-canary",
                                                          "annotations": template["metadata"].get("annotations", {})},
           "spec": template["spec"]}
    done = cluster.kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(pod), check=False)
    return done.stderr.strip()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_template_is_admitted_as_restricted(deployed, overlay, tmp_path):
    for i, (name, template) in enumerate(crossref.pods(render(overlay, ("components/loadgen",), tmp_path)).items()):
        assert admit(deployed, template, f"admitted-{i}") == "", name


@pytest.mark.parametrize("native", [True, False], ids=["native sidecar", "sidecar container"])
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_admitted_as_restricted_with_istios_containers_injected(deployed, overlay, native, tmp_path):
    """The namespace is labelled for injection: restricted judges the pod Istio's webhook returns."""
    for i, (name, template) in enumerate(crossref.pods(render(overlay, ("components/loadgen",), tmp_path)).items()):
        assert admit(deployed, inject(template, native), f"injected-{i}") == "", name


def _container(change):
    def mutate(template):
        change(template["spec"]["containers"][0].setdefault("securityContext", {}))
    return mutate


def _injected(annotations: dict, native: bool = True):
    def mutate(template):
        template["metadata"].setdefault("annotations", {}).update(annotations)
        template.update(inject(template, native))
    return mutate


REFUSED = [
    (_container(lambda sc: sc.pop("allowPrivilegeEscalation")), "allowPrivilegeEscalation != false"),
    (_container(lambda sc: sc["capabilities"].update(add=["NET_ADMIN"])), 'must not include "NET_ADMIN"'),
    (_container(lambda sc: sc.update(runAsUser=0)), "runAsUser=0"),
    (lambda t: t["spec"]["securityContext"].pop("runAsNonRoot"), "runAsNonRoot != true"),
    (lambda t: t["spec"]["securityContext"].pop("seccompProfile"), "seccompProfile"),
    (lambda t: t["spec"]["volumes"].append({"name": "host", "hostPath": {"path": "/"}}), 'restricted volume type "hostPath"'),
    # Istio's own init container without the CNI plugin: why the CNI plugin is a prerequisite.
    (lambda t: t["spec"].setdefault("initContainers", []).append(
        {"name": "istio-init", "image": "istio/proxyv2",
         "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": False, "runAsUser": 0,
                             "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]}}}),
     "unrestricted capabilities"),
    # Annotations that change what the injector adds: TPROXY interception and NET_BIND_SERVICE run istio-proxy as root.
    (_injected({"sidecar.istio.io/interceptionMode": "TPROXY"}), 'must not include "NET_ADMIN"'),
    (_injected({"sidecar.istio.io/capNetBindService": "true"}, native=False), 'container "istio-proxy" must not set runAsUser=0'),
]


@pytest.mark.parametrize("mutate, message", REFUSED, ids=[m for _, m in REFUSED])
def test_what_restricted_refuses_is_refused(deployed, mutate, message):
    template = copy.deepcopy(by_kind(render("overlays/mlserver"), "Rollout")["wine"]["spec"]["template"])
    mutate(template)
    refusal = admit(deployed, template, "refused")
    assert 'violates PodSecurity "restricted' in refusal and message in refusal, refusal
