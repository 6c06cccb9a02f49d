"""Every overlay renders, every object validates, every cross-reference holds."""

import copy
import re

import pytest
import yaml

from loadgen.cli import build_parser
from loadgen.settings import LoadgenSettings
from tests.k8s import crossref, istio
from tests.k8s.support import K8S, by_kind, problems_after, render, validate

pytestmark = pytest.mark.tools

OVERLAYS = ["overlays/mlserver", "overlays/seldon"]
COMPONENTS = ["components/v2", "components/faulty-v2", "components/loadgen", "components/tracing"]
# Every overlay with every component, alone and as make combines them.
WITH_COMPONENTS = [(o, c) for o in OVERLAYS for c in [(c,) for c in COMPONENTS]
                   + [("components/v2", "components/loadgen"), ("components/faulty-v2", "components/loadgen")]]


@pytest.mark.parametrize("path", OVERLAYS)
def test_overlay_renders_and_validates(path):
    docs = render(path)
    assert docs
    for doc in docs:
        validate(doc)


@pytest.mark.parametrize("path, components", WITH_COMPONENTS, ids=lambda v: "+".join(v) if isinstance(v, tuple) else v)
def test_components_render_validate_and_pass_every_check(path, components, tmp_path):
    """Schemas, cross-references, Istio's and Argo Rollouts' own validation, on every combination."""
    docs = render(path, components, tmp_path)
    for doc in docs:
        validate(doc)
    assert crossref.check(docs) + istio.check(docs) == []


@pytest.mark.parametrize("path", OVERLAYS)
def test_every_check_holds_on_each_overlay(path):
    docs = render(path)
    assert crossref.check(docs) + istio.check(docs) == []


def test_the_steps_are_the_plan(mlserver):
    steps = by_kind(mlserver, "Rollout")["wine"]["spec"]["strategy"]["canary"]["steps"]
    plan = [next(iter(step)) for step in steps]
    assert plan == ["setCanaryScale", "setMirrorRoute", "analysis", "setMirrorRoute",  # the shadow phase
                    "setWeight", "setCanaryScale", "setHeaderRoute", "analysis", "setWeight", "analysis", "setWeight"]
    assert [t["templateName"] for t in steps[2]["analysis"]["templates"]] == ["shadow"]
    assert "match" in steps[1]["setMirrorRoute"] and "match" not in steps[3]["setMirrorRoute"]
    assert [s["setWeight"] for s in steps if "setWeight" in s] == [10, 50, 100]


def test_faulty_component_puts_faults_only_in_the_new_template(tmp_path):
    docs = render("overlays/mlserver", ("components/faulty-v2",), tmp_path)
    pod = by_kind(docs, "Rollout")["wine"]["spec"]["template"]
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert pod["metadata"]["labels"]["version"] == "v2"
    assert env["FAULT_ERROR_RATIO"]["value"] == "0.3"
    assert env["MODEL_VERSION"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['version']"


def test_every_object_is_one_kind_per_base_file():
    for path in (K8S / "base").glob("*.yaml"):
        if path.name == "kustomization.yaml":
            continue
        kinds = {doc["kind"] for doc in yaml.safe_load_all(path.read_text()) if doc}
        assert len(kinds) == 1, f"{path.name} holds {kinds}"


def test_only_current_kustomize_syntax():
    for path in K8S.rglob("kustomization.yaml"):
        doc = yaml.safe_load(path.read_text())
        old = {"bases", "patchesStrategicMerge", "patchesJson6902", "commonLabels", "vars"} & doc.keys()
        assert not old, f"{path}: deprecated kustomize fields {old}"


def _rename(kind, old, new):
    def mutate(docs):
        for d in docs:
            if d["kind"] == kind and d["metadata"]["name"] == old:
                d["metadata"]["name"] = new
    return mutate


def _answers(variable, value):
    """The runtimes' answers reporting set otherwise in the Rollout."""
    def mutate(docs):
        env = next(d for d in docs if d["kind"] == "Rollout")["spec"]["template"]["spec"]["containers"][0]["env"]
        next(e for e in env if e["name"] == variable)["value"] = value
    return mutate


def _set(kind, name, path, value):
    def mutate(docs):
        for d in docs:
            if d["kind"] == kind and d["metadata"]["name"] == name:
                node = d
                for key in path[:-1]:
                    node = node[key]
                node[path[-1]] = value
    return mutate


def _edit_route(name, change, vs="wine"):
    def mutate(docs):
        found = next(d for d in docs if d["kind"] == "VirtualService" and d["metadata"]["name"] == vs)
        change(next(r for r in found["spec"]["http"] if r["name"] == name))
    return mutate


def _undelegated(docs):
    """The routes as shipped before delegation: one VirtualService, Argo's routes beside primary and grpc."""
    vss = {d["metadata"]["name"]: d for d in docs if d["kind"] == "VirtualService"}
    root = vss["wine"]["spec"]["http"]
    for route in [r for r in root if "delegate" in r]:
        inline = vss[route["delegate"]["name"]]["spec"]["http"][0]
        root[root.index(route)] = {**inline, **{k: v for k, v in route.items() if k not in ("delegate", "name")}}
    docs[:] = [d for d in docs if d["kind"] != "VirtualService" or d["metadata"]["name"] == "wine"]
    _set("Rollout", "wine", ["spec", "strategy", "canary", "trafficRouting", "istio"],
         {"virtualService": {"name": "wine", "routes": ["primary", "grpc"]},
          "destinationRule": {"name": "wine", "canarySubsetName": "canary", "stableSubsetName": "stable"}})(docs)


def _mesh_port_only(docs):
    """Every feedback match on port 8080 alone, none for the gateway."""
    for name in ("feedback-v1", "feedback-v2", "feedback-unrouted"):
        _edit_route(name, lambda r: r.update(match=[m for m in r["match"] if m.get("port") == 8080]))(docs)


def _rename_route(old, new):
    return _edit_route(old, lambda r: r.update(name=new))



DRIFT = [
    (_rename("VirtualService", "wine-rest", "wine-vs"), "VirtualService wine-rest does not exist"),
    (_rename("VirtualService", "wine-grpc", "wine-vs"), "VirtualService wine: delegate wine-grpc does not exist"),
    (_rename("DestinationRule", "wine", "wine-dr"), "DestinationRule wine does not exist"),
    (_rename("AnalysisTemplate", "latency", "latency-gate"), "AnalysisTemplate latency does not exist"),
    (_rename("Gateway", "wine-gateway", "gw"), "Gateway wine-gateway does not exist"),
    (_set("Rollout", "wine", ["spec", "strategy", "canary", "steps", 1, "setMirrorRoute", "percentage"], 100),
     "does not carry a 100% mirror"),
    (_set("Rollout", "wine", ["spec", "strategy", "canary", "steps", 0, "setCanaryScale"], {"replicas": 1}),
     "does not carry a 50% mirror"),
    (lambda docs: [_set("Rollout", "wine", ["spec", "strategy", "canary", "steps", 0, "setCanaryScale"], {"weight": 100})(docs),
                   _set("Rollout", "wine", ["spec", "strategy", "canary", "steps", 1, "setMirrorRoute", "percentage"],
                        100)(docs)], "must ask at weight=50, the canary's share under a 100% mirror"),
    (_rename("ServiceAccount", "loadgen", "lg"), "principal cluster.local/ns/ml-canary/sa/loadgen"),
    (_rename("Role", "rollout-operator", "ops"), "Role rollout-operator does not exist"),
    (_edit_route("primary", lambda r: r.update(name="main"), vs="wine-rest"), "has no http route named primary"),
    (_edit_route("feedback-v2", lambda r: r["route"][0]["destination"].update(subset="v1")),
     "x-model-version: v2 takes route feedback-v2, not one to a subset with labels version: v2"),
    (_edit_route("feedback-v1", lambda r: r["match"][0]["headers"]["x-model-version"].update(exact="V1")),
     "feedback to /ml-canary/v1/feedback through mesh port 8080 with x-model-version: v1 takes route feedback-unrouted"),
    (_set("DestinationRule", "wine", ["spec", "subsets", 3, "labels", "version"], "v3"),
     "not one to a subset with labels version: v2"),
    # Istio drops a match whose port is not the listener's: 443 at the gateway (route.go, TranslateRoute).
    (_mesh_port_only, "feedback to /ml-canary/v1/feedback through wine-gateway port 443 with x-model-version: v1 "
                      "takes route rest-primary"),
    (_edit_route("feedback-v1", lambda r: [m.update(port=8080) for m in r["match"]]),
     "through wine-gateway port 443 with x-model-version: v1 takes route feedback-unrouted"),
    (_edit_route("feedback-v2", lambda r: [m.update(gateways=["mesh"]) for m in r["match"]]),
     "through wine-gateway port 443 with x-model-version: v2 takes route feedback-unrouted"),
    (_edit_route("feedback-unrouted", lambda r: r["match"].pop(1)),
     "feedback to /api/v1.0/feedback through mesh port 8080 without x-model-version takes route rest-primary"),
    (_set("DestinationRule", "wine", ["spec", "subsets", 1, "name"], "preview"), "has no subset canary"),
    (_set("Service", "wine", ["spec", "selector"], {"app": "wine-model"}), "no Service selects its pods"),
    (_set("Service", "ml-canary-judge", ["spec", "selector"], {"app": "judge"}), "does not select any pods"),
    (_set("Service", "ml-canary-judge", ["spec", "ports", 0, "targetPort"], "web"), "targetPort web is not a container port of StatefulSet ml-canary-judge"),
    (_set("StatefulSet", "ml-canary-judge", ["spec", "replicas"], 3), "ANSWERS_SHARDS 2, but StatefulSet ml-canary-judge has 3 replicas"),
    (_set("StatefulSet", "ml-canary-judge", ["spec", "serviceName"], "ml-canary-judge"), "is not StatefulSet ml-canary-judge's serviceName ml-canary-judge"),
    (_set("Service", "ml-canary-judge-peers", ["spec", "clusterIP"], "10.0.0.9"), "no headless Service ml-canary-judge-peers"),
    (_rename("StatefulSet", "ml-canary-judge", "judge"), "names StatefulSet ml-canary-judge, which does not exist"),
    (_answers("ANSWERS_URL", "http://ml-canary-judge.ml-canary.svc:8080/v1/answers"), "does not name a StatefulSet pod per {shard}"),
    (_answers("ANSWERS_URL", "http://ml-canary-judge-{shard}.ml-canary-judge-peers.default.svc:8080/v1/answers"), "is not the namespace ml-canary"),
    (_answers("ANSWERS_URL", "http://ml-canary-judge-{shard}.ml-canary-judge-peers.ml-canary.svc:80/v1/answers"), "port 80 is not a container port"),
    (_answers("ANSWERS_SHARDS", "two"), "ANSWERS_SHARDS two is not a number"),
    (_set("PodMonitor", "wine-sidecar", ["spec", "podMetricsEndpoints", 0, "port"], "envoy-prom"), "port envoy-prom is not a container port"),
    (_set("Rollout", "wine", ["spec", "strategy", "canary", "steps", 7, "analysis", "args", 2, "value"], "20"), "passes canary-weight 20, but the weight in force is 10"),
    (_set("Rollout", "wine", ["spec", "strategy", "canary", "steps", 7, "analysis", "args", 1, "valueFrom"], {"podTemplateHashValue": "Canary"}), "podTemplateHashValue Canary is not Stable or Latest"),
    (_rename("AnalysisTemplate", "judge", "judge-v2"), "AnalysisTemplate judge does not exist"),
    (_rename("AnalysisTemplate", "shadow", "mirror"), "AnalysisTemplate shadow does not exist"),
    # Argo's header and mirror routes carry no port match, timeout or retries (istio.go, createHeaderRoute):
    # beside primary they sent gRPC testers to the REST port, with no deadline; a delegate's root gives them all.
    (_undelegated, "/inference.GRPCInferenceService/ModelInfer through mesh port 8081 takes route canary-header "
                   "to port(s) [8080], not 8081"),
    (_undelegated, "/v2/models/wine/infer through mesh port 8080 takes route canary-header with timeout None, "
                   "not route primary's 5s"),
    (_undelegated, "(mirror-route), /v2/models/wine/infer through wine-gateway port 443 takes route mirror-route with "
                   "retries None"),
    (_edit_route("rest", lambda r: r.update(match=[{"port": 8080}])), "through wine-gateway port 443 takes route None"),
    # A root match the mirror's conflicts with: istiod drops the mirror route (hasConflict), nothing is copied.
    (_edit_route("rest", lambda r: r.update(match=[{"uri": {"regex": ".*"}}])),
     "(mirror-route), /v2/models/wine/infer through mesh port 8080 takes route rest-primary, not mirror-route"),
    (_set("Service", "wine", ["spec", "ports", 0, "name"], "rest"), "Service wine has no http or no grpc port"),
    (_set("Rollout", "wine", ["spec", "strategy", "canary", "trafficRouting", "istio", "virtualServices"],
          [{"name": "wine-rest", "routes": ["primary"]}]),
     "/seldon.protos.Seldon/Predict through mesh port 8081 takes route grpc-grpc, not canary-header"),
    (_set("Rollout", "wine", ["spec", "strategy", "canary", "steps", 1, "setMirrorRoute", "match"], [{"method": {"exact": "POST"}}]),
     "also copies POST /ml-canary/v1/feedback"),
    (_set("Rollout", "wine", ["spec", "strategy", "canary", "steps", 1, "setMirrorRoute", "match", 0, "path"], {"prefix": "/"}),
     "also copies POST /inference.GRPCInferenceService/ModelInfer"),
    (_set("Rollout", "wine", ["spec", "strategy", "canary", "steps", 1, "setMirrorRoute", "match", 1, "path"], {"exact": "/api/v1.0/prediction"}),
     "does not copy predictions to /api/v1.0/predictions"),
    (_set("Service", "wine", ["spec", "ports", 1, "targetPort"], "metrics"), "targetPort metrics"),
    (_set("Rollout", "wine", ["spec", "strategy", "canary", "trafficRouting", "managedRoutes"], []), "not in managedRoutes"),
    (_set("PodMonitor", "wine-runtime", ["spec", "podMetricsEndpoints", 0, "port"], "metrics"), "port metrics is not a container port"),
    (_set("HorizontalPodAutoscaler", "wine", ["spec", "scaleTargetRef", "name"], "wine2"), "Rollout wine2 does not exist"),
    (_set("AnalysisTemplate", "success-rate", ["spec", "args", 0], {"name": "stable-version"}), "does not pass required arg stable-version"),
]


@pytest.mark.parametrize("mutate, message", DRIFT, ids=[m for _, m in DRIFT])
def test_drift_is_caught(mlserver, mutate, message):
    problems = problems_after(mlserver, mutate, crossref.check)
    assert any(message in p for p in problems), problems


TYPOS = [
    ("Rollout", "wine", ["spec", "strategy", "canary", "setps"], []),
    ("VirtualService", "wine", ["spec", "http", 0, "retires"], {"attempts": 2}),
    ("DestinationRule", "wine", ["spec", "trafficPolicy", "outlierDetecton"], {}),
    ("AnalysisTemplate", "success-rate", ["spec", "metrics", 0, "sucessCondition"], "true"),
    ("Service", "wine", ["spec", "ports", 0, "targetport"], "http"),
    ("HorizontalPodAutoscaler", "wine", ["spec", "minReplica"], 1),
    ("PrometheusRule", "ml-canary", ["spec", "groups", 0, "rules", 0, "recrd"], "x"),
]


@pytest.mark.parametrize("kind, name, path, value", TYPOS, ids=[f"{t[0]}.{t[2][-1]}" for t in TYPOS])
def test_a_misspelt_field_is_refused(mlserver, kind, name, path, value):
    docs = copy.deepcopy(mlserver)
    _set(kind, name, path, value)(docs)
    doc = next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)
    with pytest.raises(AssertionError, match=path[-1]):
        validate(doc)


RUNTIME_PROTOCOL = {"ml-canary-mlserver": "v2", "ml-canary-seldon": "seldon"}  # what each image serves


def _expand(arg: str, env: dict) -> str:
    """Kubernetes' $(VAR) expansion of container args (the kubelet's expansion.Expand)."""
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), arg)


def _job_args(docs: list[dict]) -> list[str]:
    container = by_kind(docs, "Job")["loadgen"]["spec"]["template"]["spec"]["containers"][0]
    maps = by_kind(docs, "ConfigMap")
    env = {e["name"]: maps[e["valueFrom"]["configMapKeyRef"]["name"]]["data"][e["valueFrom"]["configMapKeyRef"]["key"]]
           for e in container.get("env", []) if "configMapKeyRef" in e.get("valueFrom", {})}
    return [_expand(a, env) for a in container["args"]]


@pytest.mark.parametrize("overlay", ["overlays/mlserver", "overlays/seldon"])
def test_the_load_generator_speaks_the_protocol_of_the_runtime_it_loads(overlay, tmp_path):
    docs = render(overlay, ("components/loadgen",), tmp_path)
    image = by_kind(docs, "Rollout")["wine"]["spec"]["template"]["spec"]["containers"][0]["image"].split(":")[0]
    args = build_parser(LoadgenSettings()).parse_args(_job_args(docs))
    assert args.protocol == RUNTIME_PROTOCOL[image.rsplit("/", 1)[-1]]


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("component", COMPONENTS)
def test_every_component_changes_every_overlay(overlay, component, tmp_path):
    """A component that renders to the overlay unchanged would be a target that silently does nothing."""
    assert render(overlay, (component,), tmp_path) != render(overlay)
