"""Istio's VirtualService delegation and Argo's managed routes, as the two write and merge them.

Argo Rollouts puts its header and mirror routes first in each VirtualService the Rollout
names, with the canary port of that VirtualService's first named route and none of its
timeout or retries (argo-rollouts v1.9.1 rollout/trafficrouting/istio/istio.go:
createHeaderRoute, createMirrorRoute, getVirtualServiceCanaryPort, orderRoutes). istiod
then merges a delegate's routes into the root route that names it
(istio 1.29.6 pilot/pkg/model/virtualservice.go: mergeVirtualServicesIfNeeded,
mergeHTTPRoute, mergeHTTPMatchRequest, hasConflict). Both are read here as upstream
writes them, for the routes ml-canary ships; no library models either.
"""

import copy

from cluster import routes
from tests.k8s.support import by_kind

# mergeHTTPRoute: the fields a delegate route takes from its root when it has none.
_INHERITED = ("rewrite", "directResponse", "timeout", "retries", "fault", "mirror", "mirrorPercentage",
             "corsPolicy", "mirrors", "headers")
_MATCH_INHERITED = ("uri", "scheme", "method", "authority", "sourceNamespace", "gateways", "statPrefix")
_MATCH_MERGED = ("headers", "withoutHeaders", "queryParams", "sourceLabels")


def listed(rollout: dict) -> list[dict]:
    """The Rollout's VirtualService references, as the data plane reads them."""
    return routes.listed(rollout["spec"]["strategy"].get("canary", {}).get("trafficRouting", {}).get("istio", {}))


def _string_conflict(root: dict | None, leaf: dict | None) -> bool:
    """stringMatchConflict."""
    if root is None or leaf is None:
        return False
    if "regex" in root or "regex" in leaf:
        return True
    if "exact" in root:
        return "prefix" in leaf or leaf.get("exact") != root["exact"]
    if "prefix" in root:
        return not (leaf.get("prefix") or leaf.get("exact") or "").startswith(root["prefix"])
    return True


_UNMODELLED = {"ignoreUriCase", "sourceNamespace", "sourceLabels", "withoutHeaders", "queryParams"}


def _conflict(root: dict, leaf: dict) -> bool:
    """hasConflict, for the fields ml-canary's routes use: uri, method, headers, port, gateways."""
    if _UNMODELLED & (set(root) | set(leaf)):
        raise ValueError(f"a delegated match on {sorted(_UNMODELLED & (set(root) | set(leaf)))}: not modelled here")
    if any(_string_conflict(root.get(k), leaf.get(k)) for k in ("uri", "scheme", "method", "authority")):
        return True
    if any(_string_conflict((root.get("headers") or {}).get(k), v) for k, v in (leaf.get("headers") or {}).items()):
        return True
    if root.get("port") and leaf.get("port") and root["port"] != leaf["port"]:
        return True
    return bool(root.get("gateways") and leaf.get("gateways") and not set(leaf["gateways"]) <= set(root["gateways"]))


def _merge_match(root: dict, leaf: dict) -> dict:
    """mergeHTTPMatchRequest: the leaf's fields, the root's where the leaf has none, maps joined."""
    out = dict(leaf)
    for key in _MATCH_INHERITED + ("port",):
        if not out.get(key) and root.get(key):
            out[key] = root[key]
    for key in _MATCH_MERGED:
        if root.get(key) or leaf.get(key):
            out[key] = {**(root.get(key) or {}), **(leaf.get(key) or {})}
    return out


def merge_route(root: dict, leaf: dict) -> dict | None:
    """mergeHTTPRoute: None when a leaf match has no compatible root match (istiod drops the route)."""
    out = copy.deepcopy(leaf)
    if root.get("match") and leaf.get("match"):
        merged = []
        for sub in leaf["match"]:
            fits = [_merge_match(m, sub) for m in root["match"] if not _conflict(m, sub)]
            if not fits:
                return None
            merged += fits
        out["match"] = merged
    elif root.get("match"):
        out["match"] = copy.deepcopy(root["match"])
    out["name"] = f"{root['name']}-{leaf['name']}" if root.get("name") and leaf.get("name") else \
        leaf.get("name") or root.get("name")
    for key in _INHERITED:
        if key not in out and key in root:
            out[key] = copy.deepcopy(root[key])
    return out


def merged(virtual_services: dict[str, dict]) -> dict[str, dict]:
    """mergeVirtualServicesIfNeeded: each root with its delegates' routes in place; delegates (no hosts) dropped."""
    out, delegates = {}, {n: vs for n, vs in virtual_services.items() if not vs["spec"].get("hosts")}
    for name, vs in virtual_services.items():
        if name in delegates:
            continue
        vs = copy.deepcopy(vs)
        http = []
        for route in vs["spec"].get("http", []):
            delegate = delegates.get((route.get("delegate") or {}).get("name"))
            if "delegate" not in route:
                http.append(route)
            elif delegate is not None:  # a missing delegate: istiod ignores only this route
                http += [r for r in (merge_route(route, leaf) for leaf in delegate["spec"].get("http", [])) if r]
        vs["spec"]["http"] = http
        out[name] = vs
    return out


def _first(vs: dict, routes: list[str]) -> dict:
    """getVirtualServiceSetWeightRoute (getHttpRouteIndexesToPatch): the first route in the Rollout's order;
    with none named, the only route or the first unnamed one."""
    http = vs["spec"].get("http", [])
    if not routes:
        return http[0] if len(http) == 1 else next((r for r in http if not r.get("name")), {})
    return next((r for r in http if r.get("name") == routes[0]), {})


def _port(vs: dict, routes: list[str]) -> int | None:
    """getVirtualServiceCanaryPort: that route's first destination port."""
    return next((d["destination"].get("port", {}).get("number") for d in _first(vs, routes).get("route", [])), None)


def with_managed(docs: list[dict], rollout: dict, step: dict) -> dict[str, dict]:
    """Every VirtualService after Argo applies a setHeaderRoute or setMirrorRoute step with a match."""
    out = copy.deepcopy(by_kind(docs, "VirtualService"))
    dr_ref = rollout["spec"]["strategy"]["canary"]["trafficRouting"]["istio"]["destinationRule"]
    host = by_kind(docs, "DestinationRule")[dr_ref["name"]]["spec"]["host"]
    for ref in listed(rollout):
        vs = out[ref["name"]]
        port = _port(vs, ref.get("routes", []))
        canary = {"host": host, "subset": dr_ref["canarySubsetName"], **({"port": {"number": port}} if port else {})}
        if "setHeaderRoute" in step:
            hr = step["setHeaderRoute"]
            route = {"name": hr["name"], "route": [{"destination": canary, "weight": 100}],
                     "match": [{"headers": {m["headerName"]: m["headerValue"]}} for m in hr["match"]]}
        else:
            mr = step["setMirrorRoute"]
            route = {"name": mr["name"], "route": copy.deepcopy(_first(vs, ref.get("routes", []))["route"]), "mirror": canary,
                     "mirrorPercentage": {"value": mr.get("percentage", 100)},
                     "match": [{k2: m[k] for k, k2 in (("method", "method"), ("path", "uri"), ("headers", "headers"))
                                if k in m} for m in mr["match"]]}
        vs["spec"]["http"] = [route] + vs["spec"]["http"]
    return out
