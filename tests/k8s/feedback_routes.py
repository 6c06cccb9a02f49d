"""Feedback reaches the version that answered, however it enters: a route per model version to a subset
of that version's pods, taken at the public gateway's listeners and in the mesh alike.

How Istio picks a route is pilot/pkg/networking/core/route/route.go: BuildHTTPRoutesForVirtualService
keeps the VirtualService's order and skips a route all of whose matches are dropped; TranslateRoute
drops a match whose port differs from the listener's (at a gateway, the server's port, passed by
gateway.go buildGatewayHTTPRouteConfig; in the mesh, the Service's port) or whose gateways
(sourceMatchHTTP) name neither this gateway nor ``mesh``. A subset is DestinationRule.subsets[].labels.
"""

from models.versions import VERSIONS
from servers.admin import VERSION_HEADER
from servers.feedback import FEEDBACK_PATH, SELDON_FEEDBACK_PATH
from tests.k8s import delegation
from tests.k8s.mirror_routes import string_matches
from tests.k8s.support import by_kind, model_name


def tls_mode(server: dict) -> str:
    """A Gateway server's TLS mode: PASSTHROUGH when unset, the enum's zero value (istio.io/api
    networking/v1alpha3/gateway.proto, ServerTLSSettings.TLSmode)."""
    return (server.get("tls") or {}).get("mode", "PASSTHROUGH")


def is_http_server(server: dict) -> bool:
    """Whether istiod serves a VirtualService's http routes on this server (pkg/config/gateway/gateway.go,
    IsHTTPServer): HTTP, HTTP2 or GRPC, or HTTPS whose TLS is terminated (not PASSTHROUGH or AUTO_PASSTHROUGH)."""
    protocol = server.get("port", {}).get("protocol", "").upper()
    if protocol in ("HTTP", "HTTP2", "GRPC", "GRPC-WEB"):
        return True
    return protocol == "HTTPS" and server.get("tls") is not None and tls_mode(server) not in ("PASSTHROUGH",
                                                                                               "AUTO_PASSTHROUGH")


def serves_routes(server: dict) -> bool:
    """Whether a request reaches the http routes through this server: an HTTP server that does not only
    redirect to HTTPS (tls.httpsRedirect: every request answered 301)."""
    return is_http_server(server) and not (server.get("tls") or {}).get("httpsRedirect")


def entries(vs: dict, docs: list[dict], mesh_ports: tuple[str, ...] = ("http",)) -> list[tuple[str, int]]:
    """(gateway, listener port) of every way into the VirtualService: each server of its Gateways that serves
    http routes and does not only redirect, and the mesh at the model's Service's ports named ``mesh_ports``."""
    out = []
    for name in vs["spec"].get("gateways", []):
        if name == "mesh":
            service = by_kind(docs, "Service").get(model_name(docs), {"spec": {"ports": []}})
            out += [("mesh", p["port"]) for p in service["spec"]["ports"] if p.get("name") in mesh_ports]
        elif gateway := by_kind(docs, "Gateway").get(name):
            out += [(name, s["port"]["number"]) for s in gateway["spec"].get("servers", []) if serves_routes(s)]
    return out


def listener_admits(match: dict, entry: tuple[str, int]) -> bool:
    """Whether Istio keeps a match at this (gateway or ``mesh``, listener port): TranslateRoute's port test
    and sourceMatchHTTP's gateways test."""
    gateway, port = entry
    return match.get("port") in (None, port) and (not match.get("gateways") or gateway in match["gateways"])


def _admits(match: dict, entry: tuple[str, int], path: str, headers: dict[str, str]) -> bool:
    return (listener_admits(match, entry) and string_matches(match.get("uri"), path)
            and all(name in headers and string_matches(rule, headers[name])
                    for name, rule in (match.get("headers") or {}).items()))


def route_taken(http: list[dict], entry: tuple[str, int], path: str, headers: dict[str, str]) -> dict | None:
    """The first route with no match, or with a match this request passes through this entry."""
    return next((r for r in http if not r.get("match") or any(_admits(m, entry, path, headers) for m in r["match"])),
                None)


def _problems(http: list[dict], subsets: dict, entry: tuple[str, int], path: str, model: str) -> list[str]:
    where = f"VirtualService {model}, feedback to {path} through {entry[0]} port {entry[1]}"
    problems = []
    for version in VERSIONS:
        route = route_taken(http, entry, path, {VERSION_HEADER: version}) or {}
        if not route.get("route") or any(subsets.get(d["destination"].get("subset"), {}).get("version") != version
                                         for d in route["route"]):
            problems.append(f"{where} with {VERSION_HEADER}: {version} takes route {route.get('name')}, "
                            f"not one to a subset with labels version: {version}")
    unnamed = route_taken(http, entry, path, {}) or {}
    if not 400 <= unnamed.get("directResponse", {}).get("status", 0) < 500:
        problems.append(f"{where} without {VERSION_HEADER} takes route {unnamed.get('name')}, not a 4xx answer")
    return problems


def check(docs: list[dict]) -> list[str]:
    """Through every entry, feedback with a version's header reaches that version's pods, and without one
    gets a 4xx: never a weighted route that would credit either version."""
    model = model_name(docs)
    vs, dr = delegation.merged(by_kind(docs, "VirtualService")).get(model), by_kind(docs, "DestinationRule").get(model)
    if vs is None or dr is None:
        return []
    http = vs["spec"].get("http", [])
    subsets = {s["name"]: s.get("labels", {}) for s in dr["spec"].get("subsets", [])}
    return [problem for entry in entries(vs, docs) for path in (FEEDBACK_PATH, SELDON_FEEDBACK_PATH)
            for problem in _problems(http, subsets, entry, path, model)]
