"""Argo's header and mirror routes change which revision answers a request, never its port, timeout or retries.

Argo writes them without a timeout, retries or a port match, with the port of the first route the
Rollout names in that VirtualService (tests/k8s/delegation.py names the upstream functions). Unless
istiod gives them the root route's match, timeout and retries through a delegate, a gRPC request
with x-canary reaches the canary's REST port and a tester's request waits without a deadline. This
applies every such step as Argo would, merges as istiod does, and sends each prediction through
each way in: it must take the step's route (a header route every prediction with its header, a mirror
route every REST one: istiod drops a delegate route whose match conflicts with its root's), sent to the
port it came to, with the timeout and retries it had before the step.
"""

from tests.k8s import delegation
from tests.k8s.feedback_routes import entries, route_taken
from tests.k8s.mirror_routes import GRPC, rest
from tests.k8s.support import by_kind, model_name


def _requests(docs: list[dict], vs: dict) -> list[tuple[tuple[str, int], str, int]]:
    """(entry, path, port it must reach): REST predictions through every entry, gRPC to the mesh's grpc port."""
    ports = {p.get("name"): p["port"] for p in by_kind(docs, "Service")[model_name(docs)]["spec"]["ports"]}
    if not {"http", "grpc"} <= set(ports):
        return []
    out = []
    for entry in entries(vs, docs, mesh_ports=("http", "grpc")):
        grpc = entry == ("mesh", ports.get("grpc"))
        paths = GRPC if grpc else rest(model_name(docs))
        out += [(entry, path, ports["grpc" if grpc else "http"]) for path in paths]
    return out


def _expected(step: dict, path: str) -> bool:
    """Whether the step's route must take this request: a header route every prediction with its header,
    a mirror route every REST one (gRPC is never copied)."""
    return "setHeaderRoute" in step or path not in GRPC


def _ports(route: dict) -> set:
    sent = [d["destination"] for d in route.get("route", [])] + ([route["mirror"]] if "mirror" in route else [])
    return {d.get("port", {}).get("number") for d in sent}


def _step_problems(docs: list[dict], name: str, ro: dict, i: int, step: dict) -> list[str]:
    before = delegation.merged(by_kind(docs, "VirtualService"))
    after = delegation.merged(delegation.with_managed(docs, ro, step))
    managed = step.get("setHeaderRoute") or step.get("setMirrorRoute")
    headers = {m["headerName"]: next(iter(m["headerValue"].values())) for m in managed.get("match", [])
               if "headerName" in m}
    problems, requests = [], {vs_name: _requests(docs, vs) for vs_name, vs in after.items()}
    if {p in GRPC for rs in requests.values() for _, p, _ in rs} != {True, False}:
        return [f"Rollout {name}: step {i}: Service {name} has no http or no grpc port in the mesh to send through"]
    for vs_name, vs in after.items():
        for entry, path, port in requests[vs_name]:
            was = route_taken(before[vs_name]["spec"]["http"], entry, path, headers) or {}
            now = route_taken(vs["spec"]["http"], entry, path, headers) or {}
            where = f"Rollout {name}: after step {i} ({managed['name']}), {path} through {entry[0]} port {entry[1]}"
            if _expected(step, path) and not now.get("name", "").endswith(managed["name"]):
                problems.append(f"{where} takes route {now.get('name')}, not {managed['name']}")
            if _ports(now) != {port}:
                problems.append(f"{where} takes route {now.get('name')} to port(s) {sorted(_ports(now), key=str)}, "
                                f"not {port}")
            problems += [f"{where} takes route {now.get('name')} with {key} {now.get(key)}, not route "
                         f"{was.get('name')}'s {was.get(key)}" for key in ("timeout", "retries") if now.get(key) != was.get(key)]
            if not now.get("timeout"):
                problems.append(f"{where} takes route {now.get('name')}, which has no timeout")
    return problems


def _complete(docs: list[dict], ro: dict) -> bool:
    """Whether every object the Rollout routes by is there, each route it names included (else crossref says)."""
    vss, istio = by_kind(docs, "VirtualService"), ro["spec"]["strategy"]["canary"]["trafficRouting"]["istio"]
    return istio["destinationRule"]["name"] in by_kind(docs, "DestinationRule") and all(
        ref["name"] in vss and set(ref.get("routes", [])) <= {r.get("name") for r in vss[ref["name"]]["spec"]["http"]}
        for ref in delegation.listed(ro))


def check(docs: list[dict]) -> list[str]:
    """Every setHeaderRoute and setMirrorRoute step that adds a route keeps each request's port, timeout, retries."""
    problems = []
    for name, ro in by_kind(docs, "Rollout").items():
        if not delegation.listed(ro):
            continue
        for i, step in enumerate(ro["spec"]["strategy"].get("canary", {}).get("steps", []), 1):
            managed = step.get("setHeaderRoute") or step.get("setMirrorRoute")
            if managed and managed.get("match") and _complete(docs, ro):
                problems += _step_problems(docs, name, ro, i, step)
    return problems
