"""A mirror route copies predictions to the canary, and nothing else.

Argo Rollouts puts its managed routes first in each VirtualService the Rollout names
(rollout/trafficrouting/istio/istio.go, orderRoutes and getOrderedVirtualServiceRoutes): there,
a setMirrorRoute match that also takes other requests (feedback, reads, probes) would copy them
to the canary. Istio matches a uri regex against the whole path
(pilot/pkg/networking/core/route/route.go, translateRouteMatch: RE2 full match). Its ports,
timeout and retries are managed_routes.py's.
"""

import re

from loadgen.payloads import PROTOCOLS, path_for
from servers.feedback import FEEDBACK_PATH, SELDON_FEEDBACK_PATH
from tests.k8s.support import by_kind, model_name

# gRPC methods (MLServer's V2 service, the Seldon wrapper's): POSTs too, on the grpc route's port.
GRPC = ["/inference.GRPCInferenceService/ModelInfer", "/seldon.protos.Seldon/Predict"]


def rest(model: str) -> list[str]:
    """The model's REST prediction paths, one per protocol."""
    return [path_for(p, model) for p in PROTOCOLS]


def predictions(model: str) -> list[str]:
    """Every path a prediction of the model is POSTed to, the V2 versioned one included."""
    return rest(model) + [f"/v2/models/{model}/versions/1/infer"]


def others(model: str) -> list[str]:
    """POSTs that are not predictions: feedback, gRPC, the model's metadata, a probe."""
    return [FEEDBACK_PATH, SELDON_FEEDBACK_PATH, *GRPC, f"/v2/models/{model}", "/v2/health/ready"]


def string_matches(rule: dict | None, value: str) -> bool:
    """Argo's StringMatch (exact, prefix or regex; regex against the whole value, as Istio does); none: any."""
    if not rule:
        return True
    if "regex" in rule:
        return re.fullmatch(rule["regex"], value) is not None
    return value == rule["exact"] if "exact" in rule else value.startswith(rule.get("prefix", ""))


def _takes(match: dict, path: str) -> bool:
    """Whether one alternative of a setMirrorRoute match takes a POST to this path."""
    return string_matches(match.get("method"), "POST") and string_matches(match.get("path"), path)


def _sizing(name: str, ro: dict, docs: list[dict]) -> list[str]:
    """The shadow phase's three numbers agree: canary pods at p% of stable's for a copy of p% of the predictions,
    and the shadow template telling the judge the canary's share of the requests, p / (100 + p)."""
    steps = ro["spec"]["strategy"].get("canary", {}).get("steps", [])
    mirror = next((s["setMirrorRoute"] for s in steps if (s.get("setMirrorRoute") or {}).get("match")), None)
    scale = next((s["setCanaryScale"] for s in steps if "setCanaryScale" in s), {})
    if mirror is None:
        return []
    p, problems = mirror.get("percentage", 100), []
    if scale.get("weight") != p:
        problems.append(f"Rollout {name}: the shadow canary scale {scale} does not carry a {p}% mirror (weight: {p})")
    share = round(100 * p / (100 + p))
    shadow = by_kind(docs, "AnalysisTemplate").get("shadow", {"spec": {"metrics": []}})["spec"]["metrics"]
    for metric in (m for m in shadow if "errors" in m["provider"].get("web", {}).get("url", "")):
        if f"&weight={share}&" not in metric["provider"]["web"]["url"]:
            problems.append(f"AnalysisTemplate shadow: metric {metric['name']} must ask at weight={share}, "
                            f"the canary's share under a {p}% mirror")
    return problems


def check(docs: list[dict]) -> list[str]:
    """Each setMirrorRoute that adds a route takes every prediction path and no other request; the shadow phase's
    scale, mirror and judge share agree."""
    problems = []
    for name, ro in by_kind(docs, "Rollout").items():
        problems += _sizing(name, ro, docs)
        for i, step in enumerate(ro["spec"]["strategy"].get("canary", {}).get("steps", [])):
            matches = (step.get("setMirrorRoute") or {}).get("match") or []
            where = f"Rollout {name}: step {i + 1} setMirrorRoute"
            if not matches:
                continue  # no match removes the route
            for path in predictions(model_name(docs)):
                if not any(_takes(m, path) for m in matches):
                    problems.append(f"{where} does not copy predictions to {path}")
            for path in others(model_name(docs)):
                if any(_takes(m, path) for m in matches):
                    problems.append(f"{where} also copies POST {path}, ahead of the VirtualService's own routes")
    return problems
