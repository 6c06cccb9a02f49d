"""The namespace enforces Pod Security "restricted", and every pod template it will hold passes it."""

import copy

import pytest

from tests.k8s import crossref, podsecurity
from tests.k8s.support import by_kind, render
from tests.k8s.test_manifests import OVERLAYS

LEVEL = "pod-security.kubernetes.io/"


def test_the_namespace_enforces_restricted():
    labels = by_kind(render("overlays/mlserver"), "Namespace")["ml-canary"]["metadata"]["labels"]
    assert {labels.get(LEVEL + mode) for mode in ("enforce", "warn", "audit")} == {"restricted"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_template_is_admitted_as_restricted(overlay, tmp_path):
    for name, template in crossref.pods(render(overlay, ("components/loadgen",), tmp_path)).items():
        assert podsecurity.restricted(template) == [], name


def _container(change):
    def mutate(template):
        change(template["spec"]["containers"][0].setdefault("securityContext", {}))
    return mutate


REFUSED = [
    (_container(lambda sc: sc.pop("allowPrivilegeEscalation")), "allowPrivilegeEscalation != false"),
    (_container(lambda sc: sc["capabilities"].update(add=["NET_ADMIN"])), "must drop ALL capabilities"),
    (_container(lambda sc: sc.update(runAsUser=0)), "runAsUser=0"),
    (lambda t: t["spec"]["securityContext"].pop("runAsNonRoot"), "runAsNonRoot != true"),
    (lambda t: t["spec"]["securityContext"].pop("seccompProfile"), "seccompProfile.type"),
    (lambda t: t["spec"]["volumes"].append({"name": "host", "hostPath": {"path": "/"}}), "type hostPath is not allowed"),
    # Istio's own init container without the CNI plugin: why the CNI plugin is a prerequisite.
    (lambda t: t["spec"].setdefault("initContainers", []).append(
        {"name": "istio-init", "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": False,
                                                   "runAsUser": 0, "capabilities": {"add": ["NET_ADMIN", "NET_RAW"],
                                                                                    "drop": ["ALL"]}}}),
     "container istio-init: must drop ALL capabilities"),
]


@pytest.mark.parametrize("mutate, message", REFUSED, ids=[m for _, m in REFUSED])
def test_what_restricted_refuses_is_refused(mutate, message):
    template = copy.deepcopy(by_kind(render("overlays/mlserver"), "Rollout")["wine"]["spec"]["template"])
    mutate(template)
    assert any(message in p for p in podsecurity.restricted(template))
