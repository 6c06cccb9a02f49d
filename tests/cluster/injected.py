"""What Istio's sidecar injector adds to a pod before Pod Security admission sees it.

Mutating webhooks run before the PodSecurity admission plugin, so a namespace enforcing
"restricted" judges the pod with Istio's containers and volumes in it. istio.io/istio is not
published as a versioned Go module, so its injector cannot be built at 1.29.6 and run; this
states instead, for the fields Pod Security reads, what istio/istio 1.29.6
manifests/charts/istio-control/istio-discovery/files/injection-template.yaml renders with the
CNI plugin on (pilot.cni.enabled, a prerequisite in docs/kubernetes.md) and default values:
the istio-validation init container, istio-proxy (a native sidecar, an init container with
restartPolicy Always, or a container) and the volumes. The pod's own annotations are read as the template reads them ($tproxy,
$capNetBindService, $nativeSidecar).
"""

import copy

ISTIO_UID = 1337
VOLUMES = [{"name": "workload-socket", "emptyDir": {}}, {"name": "credential-socket", "emptyDir": {}},
           {"name": "workload-certs", "emptyDir": {}}, {"name": "istio-envoy", "emptyDir": {"medium": "Memory"}},
           {"name": "istio-data", "emptyDir": {}},
           {"name": "istio-podinfo", "downwardAPI": {"items": [{"path": "labels",
                                                                "fieldRef": {"fieldPath": "metadata.labels"}}]}},
           {"name": "istio-token", "projected": {"sources": [{"serviceAccountToken": {
               "path": "istio-token", "expirationSeconds": 43200, "audience": "istio-ca"}}]}},
           {"name": "istiod-ca-cert", "configMap": {"name": "istio-ca-root-cert"}},
           {"name": "istio-ca-crl", "configMap": {"name": "istio-ca-crl", "optional": True}}]


def _validation() -> dict:
    """istio-validation: the init container's CNI branch (the non-CNI istio-init adds NET_ADMIN, NET_RAW as root)."""
    return {"name": "istio-validation", "image": "docker.io/istio/proxyv2:1.29.6",
            "args": ["istio-iptables", "--run-validation", "--skip-rule-apply"],
            "securityContext": {"allowPrivilegeEscalation": False, "privileged": False,
                                "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True,
                                "runAsGroup": ISTIO_UID, "runAsUser": ISTIO_UID, "runAsNonRoot": True}}


def _proxy(annotations: dict, native: bool) -> dict:
    """istio-proxy: root with NET_ADMIN under TPROXY interception, root with NET_BIND_SERVICE if asked, else 1337."""
    tproxy = annotations.get("sidecar.istio.io/interceptionMode") == "TPROXY"
    bind = annotations.get("sidecar.istio.io/capNetBindService") == "true"
    add = (["NET_ADMIN"] if tproxy else []) + (["NET_BIND_SERVICE"] if bind else [])
    user = {"runAsNonRoot": False, "runAsUser": 0} if add else {"runAsNonRoot": True, "runAsUser": ISTIO_UID}
    proxy = {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.29.6", "args": ["proxy", "sidecar"],
             "ports": [{"containerPort": 15090, "protocol": "TCP", "name": "http-envoy-prom"}],
             "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
                                 "capabilities": {**({"add": add} if add else {}), "drop": ["ALL"]},
                                 "runAsGroup": ISTIO_UID, **user}}
    return {**proxy, "restartPolicy": "Always"} if native else proxy


def inject(template: dict, native: bool = True) -> dict:
    """The pod template as the injector leaves it (a copy); ``native``: what the injector detected (pkg/kube/inject/
    inject.go, DetectNativeSidecar: every node's kubelet new enough), which the pod's annotation overrides."""
    out = copy.deepcopy(template)
    annotations, spec = out.get("metadata", {}).get("annotations", {}), out["spec"]
    native = annotations.get("sidecar.istio.io/nativeSidecar", str(native).lower()) != "false"
    proxy = _proxy(annotations, native)
    spec["initContainers"] = [_validation(), *([proxy] if native else []), *spec.get("initContainers", [])]
    spec["containers"] = [*spec["containers"], *([] if native else [proxy])]
    spec["volumes"] = [*spec.get("volumes", []), *VOLUMES]
    return out
