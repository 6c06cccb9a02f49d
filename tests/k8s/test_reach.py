"""The reachability table of each overlay, from its NetworkPolicies, PeerAuthentications and
AuthorizationPolicies: what must be reachable is, what must be denied is."""

import copy
import shutil

import pytest
import yaml

from tests.k8s import reach
from tests.k8s.support import K8S, by_kind, render
from tests.k8s.test_manifests import _set

pytestmark = pytest.mark.tools

GATEWAY = reach.Peer("istio-system", {"istio": "ingressgateway"},
                     "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account")
PROMETHEUS = reach.Peer("monitoring", {"app.kubernetes.io/name": "prometheus"}, None, {"web": 9090})
ARGO = reach.Peer("argo-rollouts", {"app.kubernetes.io/name": "argo-rollouts"}, None)
DNS = reach.Peer("kube-system", {"k8s-app": "kube-dns"})
ISTIOD = reach.Peer("istio-system", {"app": "istiod"})

WITH = ("components/loadgen", "components/tracing")  # the workloads whose calls the table holds
# The header route's header: the mesh's testers may pick the canary, the public may not.
CANARY_HEADER = {"x-canary": "always"}

PATHS = {  # each overlay's protocol: inference, metadata, gRPC inference, feedback
    "overlays/mlserver": ("/v2/models/wine/infer", "/v2/models/wine", "/inference.GRPCInferenceService/ModelInfer",
                          "/ml-canary/v1/feedback"),
    "overlays/seldon": ("/api/v1.0/predictions", None, "/seldon.protos.Seldon/Predict", "/api/v1.0/feedback"),
}


def _workload(docs: list[dict], kind: str, name: str) -> reach.Peer:
    pod = by_kind(docs, kind)[name]["spec"]["template"]
    ports = {p["name"]: p["containerPort"] for c in pod["spec"]["containers"] for p in c.get("ports", []) if "name" in p}
    account = pod["spec"].get("serviceAccountName", "default")
    return reach.Peer(reach.NAMESPACE, pod["metadata"]["labels"], f"cluster.local/ns/{reach.NAMESPACE}/sa/{account}",
                      {**ports, **reach.INJECTED})


def table(docs: list[dict], overlay: str) -> list[tuple[str, str, str]]:
    """(call, intended, actual) for every call that matters on this overlay."""
    wine, judge = _workload(docs, "Rollout", "wine"), _workload(docs, "StatefulSet", "ml-canary-judge")
    loadgen = _workload(docs, "Job", "loadgen")
    collector, jaeger = _workload(docs, "Deployment", "otel-collector"), _workload(docs, "Deployment", "jaeger")
    infer, metadata, grpc, feedback = PATHS[overlay]
    http, admin = wine.ports["http"], wine.ports.get("http-admin", wine.ports["http"])
    calls = [
        ("public -> inference", GATEWAY, wine, http, "POST", infer, "allow"),
        ("public -> inference, x-canary set", GATEWAY, wine, http, "POST", infer, "deny"),
        ("public -> gRPC inference, x-canary set", GATEWAY, wine, wine.ports["grpc"], "POST", grpc, "deny"),
        ("load generator -> inference, x-canary set", loadgen, wine, http, "POST", infer, "allow"),
        ("public -> model metadata", GATEWAY, wine, http, "GET", metadata, "allow"),
        ("public -> gRPC inference", GATEWAY, wine, wine.ports["grpc"], "POST", grpc, "allow"),
        ("public -> gRPC repository API", GATEWAY, wine, wine.ports["grpc"], "POST",
         "/inference.model_repository.ModelRepositoryService/RepositoryModelUnload", "deny"),
        ("load generator -> inference", loadgen, wine, http, "POST", infer, "allow"),
        ("public -> feedback", GATEWAY, wine, http, "POST", feedback, "allow"),
        ("load generator -> feedback", loadgen, wine, http, "POST", feedback, "allow"),
        ("Prometheus -> feedback", PROMETHEUS, wine, http, "POST", feedback, "deny"),
        ("public -> repository API (unload)", GATEWAY, wine, http, "POST", "/v2/repository/models/wine/unload", "deny"),
        ("load generator -> repository API", loadgen, wine, http, "POST", "/v2/repository/index", "deny"),
        ("public -> fault admin (change)", GATEWAY, wine, admin, "POST", "/ml-canary/v1/faults", "deny"),
        ("public -> fault state (read)", GATEWAY, wine, admin, "GET", "/ml-canary/v1/faults", "deny"),
        ("load generator -> fault admin", loadgen, wine, admin, "POST", "/ml-canary/v1/faults", "deny"),
        ("Prometheus -> runtime metrics", PROMETHEUS, wine, wine.ports["http-metrics"], "GET", "/metrics", "allow"),
        ("Prometheus -> sidecar stats", PROMETHEUS, wine, 15090, "GET", "/stats/prometheus", "allow"),
        ("Prometheus -> judge metrics", PROMETHEUS, judge, judge.ports["http"], "GET", "/metrics", "allow"),
        ("Argo Rollouts -> judge", ARGO, judge, judge.ports["http"], "GET", "/v1/judge", "allow"),
        ("public -> judge", GATEWAY, judge, judge.ports["http"], "GET", "/v1/judge", "deny"),
        ("judge -> Prometheus", judge, PROMETHEUS, 9090, "GET", "/api/v1/query", "allow"),
        ("wine -> judge (answers)", wine, judge, judge.ports["http"], "POST", "/v1/answers", "allow"),
        ("load generator -> judge (answers)", loadgen, judge, judge.ports["http"], "POST", "/v1/answers", "deny"),
        ("public -> judge (answers)", GATEWAY, judge, judge.ports["http"], "POST", "/v1/answers", "deny"),
        ("wine -> DNS", wine, DNS, 53, "UDP", "", "allow"),
        ("wine -> trace collector", wine, collector, 4317, "POST", "/", "allow"),
        ("wine -> trace collector (OTLP HTTP)", wine, collector, 4318, "POST", "/v1/traces", "allow"),
        ("ingress gateway -> trace collector", GATEWAY, collector, 4317, "POST", "/", "allow"),
        ("trace collector -> Jaeger", collector, jaeger, 4317, "POST", "/", "allow"),
        ("wine -> Jaeger", wine, jaeger, 4317, "POST", "/", "deny"),
        ("public -> Jaeger UI", GATEWAY, jaeger, jaeger.ports["query"], "GET", "/", "deny"),
        ("wine -> istiod", wine, ISTIOD, 15012, "POST", "/", "allow"),
        ("load generator -> DNS", loadgen, DNS, 53, "UDP", "", "allow"),
        ("Prometheus -> load generator sidecar stats", PROMETHEUS, loadgen, 15090, "GET", "/stats/prometheus", "allow"),
        ("Prometheus -> load generator metrics", PROMETHEUS, loadgen, loadgen.ports["http-metrics"], "GET", "/metrics",
         "allow"),
    ]
    rows = [(f"{who} -> fault admin (port-forward)", intended,
             "allow" if reach.rbac_allows(docs, role, "create", "pods/portforward") else "deny (rbac)")
            for who, role, intended in (("operator", "rollout-operator", "allow"), ("viewer", "rollout-viewer", "deny"))]
    for name, src, dst, port, method, path, intended in calls:
        if path is None:
            continue
        protocol = "UDP" if method == "UDP" else "TCP"
        headers = CANARY_HEADER if name.endswith("x-canary set") else None
        actual = reach.verdict(docs, src, dst, port, method, path, protocol, headers)
        rows.append((name, intended, "allow" if actual == "allow" else f"deny ({actual})"))
    return rows


def _print(overlay: str, rows: list[tuple[str, str, str]]) -> None:
    print(f"\n{overlay}\n  {'CALL':38} {'INTENDED':9} ACTUAL")
    for name, intended, actual in rows:
        print(f"  {name:38} {intended:9} {actual}")


@pytest.mark.parametrize("overlay", sorted(PATHS))
def test_the_reachability_table_is_the_intended_one(overlay, tmp_path):
    rows = table(render(overlay, WITH, tmp_path), overlay)
    _print(overlay, rows)
    wrong = [r for r in rows if r[2].split()[0] != r[1]]
    assert wrong == [], wrong


BROKEN = [  # each breaks one intended row, as findings on this project once did
    (_set("NetworkPolicy", "wine-ingress", ["spec", "ingress", 0, "ports"], [{"port": 8080}]),
     "overlays/seldon", "public -> inference"),  # numeric MLServer ports on Seldon pods
    (_set("NetworkPolicy", "loadgen-egress", ["spec", "egress", 0, "ports"], [{"port": 8080}]),
     "overlays/seldon", "load generator -> inference"),
    (_set("PeerAuthentication", "wine-metrics", ["spec", "portLevelMtls"], {"8082": {"mode": "PERMISSIVE"}}),
     "overlays/seldon", "Prometheus -> runtime metrics"),
    (_set("AuthorizationPolicy", "wine-inference", ["spec", "rules", 0, "to", 0, "operation", "paths"], ["/v2/*"]),
     "overlays/mlserver", "public -> repository API (unload)"),  # the first policy; the DENY still holds...
    (_set("NetworkPolicy", "wine-ingress", ["spec", "ingress", 1, "ports"], [{"port": "http-metrics"}]),
     "overlays/mlserver", "Prometheus -> sidecar stats"),
    (_set("NetworkPolicy", "judge-ingress", ["spec", "ingress", 0, "from"], []),
     "overlays/mlserver", "public -> judge"),
    (_set("PeerAuthentication", "ml-canary-judge", ["spec", "portLevelMtls"], {"9000": {"mode": "PERMISSIVE"}}),
     "overlays/mlserver", "Argo Rollouts -> judge"),
    (_set("NetworkPolicy", "allow-dns-and-mesh-egress", ["spec", "egress", 0, "ports"], [{"port": 53, "protocol": "TCP"}]),
     "overlays/mlserver", "wine -> DNS"),
    (_set("Role", "rollout-operator", ["rules"], []), "overlays/mlserver", "operator -> fault admin (port-forward)"),
    (_set("NetworkPolicy", "otel-collector", ["spec", "egress", 0, "ports"], [{"port": 16686}]),
     "overlays/seldon", "trace collector -> Jaeger"),
    (_set("NetworkPolicy", "otel-collector", ["spec", "ingress", 0, "ports"], [{"port": "otlp-grpc"}]),
     "overlays/seldon", "wine -> trace collector (OTLP HTTP)"),
    (_set("AuthorizationPolicy", "wine-public-canary-header-deny", ["spec", "rules", 0, "when", 0, "key"],
          "request.headers[x-canary-route]"), "overlays/mlserver", "public -> inference, x-canary set"),
]


@pytest.mark.parametrize("mutate, overlay, row", BROKEN, ids=[b[2] for b in BROKEN])
def test_a_broken_policy_changes_its_row(mutate, overlay, row, tmp_path):
    docs = copy.deepcopy(render(overlay, WITH, tmp_path))
    mutate(docs)
    if row == "public -> repository API (unload)":  # ...so drop it too: the row must fail on the ALLOW alone
        docs = [d for d in docs if d["metadata"]["name"] != "wine-repository-deny"]
    rows = {name: (intended, actual) for name, intended, actual in table(docs, overlay)}
    intended, actual = rows[row]
    assert actual.split()[0] != intended, rows[row]


def test_another_ingress_gateway_is_named_in_one_file(tmp_path):
    """An istio/gateway Helm release istio-ingress in namespace istio-ingress: only ingress-gateway.yaml changes,
    and the public reaches wine through that gateway, not through the default one, header route refused alike."""
    root = tmp_path / "k8s"
    shutil.copytree(K8S, root)
    config = root / "base/ingress-gateway.yaml"
    doc = yaml.safe_load(config.read_text())
    doc["data"] = {"namespace": "istio-ingress", "label": "ingress", "serviceAccount": "istio-ingress"}
    config.write_text(yaml.safe_dump(doc))
    docs = render("overlays/mlserver", tmp_path=tmp_path, root=root)
    helm = reach.Peer("istio-ingress", {"istio": "ingress"}, "cluster.local/ns/istio-ingress/sa/istio-ingress")
    wine, (infer, *_) = _workload(docs, "Rollout", "wine"), PATHS["overlays/mlserver"]
    call = (wine, wine.ports["http"], "POST", infer)
    assert reach.verdict(docs, helm, *call) == "allow" and reach.verdict(docs, GATEWAY, *call) != "allow"
    assert reach.verdict(docs, helm, *call, headers=CANARY_HEADER) == "authz"
    assert by_kind(docs, "Gateway")["wine-gateway"]["spec"]["selector"] == {"istio": "ingress"}
    monitor = by_kind(docs, "PodMonitor")["istio-ingressgateway"]["spec"]
    assert monitor["namespaceSelector"] == {"matchNames": ["istio-ingress"]} and monitor["selector"]["matchLabels"] == {
        "istio": "ingress"}
    assert "ingress-gateway" not in by_kind(docs, "ConfigMap")  # local-config: never applied
    traced = render("overlays/mlserver", ("components/tracing",), tmp_path, root=root)
    spans = (_workload(traced, "Deployment", "otel-collector"), 4317, "POST", "/")  # the gateway's own spans
    assert reach.verdict(traced, helm, *spans) == "allow" and reach.verdict(traced, GATEWAY, *spans) != "allow"
