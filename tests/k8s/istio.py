"""Istio's admission rules for the kinds ml-canary ships, and how istiod binds them.

A schema says a VirtualService may list any hosts; Istio's validating webhook
refuses some lists outright. Each rule below names the upstream function it
reproduces (istio/istio, pkg/config/validation/validation.go unless said
otherwise), so a reviewer can hold the two side by side. Only the rules that the
shipped manifests could break are encoded, not the whole webhook.
"""

import re

from tests.k8s import crossref, delegation
from tests.k8s.feedback_routes import listener_admits, serves_routes, tls_mode
from tests.k8s.support import by_kind

MESH = "mesh"  # constants.IstioMeshGateway
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_TLS_PROTOCOLS = {"HTTPS", "TLS"}  # protocol.Instance.IsTLS, pkg/config/protocol/instance.go


def host_matches(a: str, b: str) -> bool:
    """host.Name.Matches (pkg/config/host/name.go): equal, or one wildcard covers the other."""
    if a.startswith("*") and b.startswith("*"):
        short, long_ = sorted((a, b), key=len)
        return long_[1:].endswith(short[1:])
    if a.startswith("*"):
        return b.endswith(a[1:])
    if b.startswith("*"):
        return a.endswith(b[1:])
    return a == b


def _label(value: str) -> bool:
    return len(value) <= 63 and bool(_DNS1123_LABEL.fullmatch(value))


def virtual_service(name: str, spec: dict) -> list[str]:
    """ValidateVirtualService: hosts against the gateways they bind to, duplicates, gateway names, routes."""
    problems, hosts, gateways = [], spec.get("hosts", []), spec.get("gateways", [])
    applies_to_mesh = not gateways or MESH in gateways  # isGateway: any "mesh" makes it a mesh VirtualService
    if applies_to_mesh and "*" in hosts:
        problems.append(f"VirtualService {name}: wildcard host * is not allowed for virtual services bound to the mesh gateway")
    for i, a in enumerate(hosts):
        for b in hosts[i + 1:]:
            if host_matches(a, b):
                problems.append(f"VirtualService {name}: duplicate hosts in virtual service: {a} & {b}")
    for gw in gateways:  # validateGatewayNames
        ns, _, gname = gw.rpartition("/")
        if gw != MESH and not (_label(gname) and (not ns or _label(ns))):
            problems.append(f"VirtualService {name}: invalid gateway name {gw!r}")
    if not hosts and gateways:  # a delegate (validation.go, ValidateVirtualService)
        problems.append(f"VirtualService {name}: delegate virtual service must have no gateways specified")
    for route in spec.get("http", []):
        problems += _http_route(name, route, delegate=not hosts)
    return problems


def _http_route(name: str, route: dict, delegate: bool) -> list[str]:
    """validateHTTPRouteDestinations and validateDestination: weights, hosts, subset names."""
    problems, dests = [], route.get("route", [])
    label = f"VirtualService {name} route {route.get('name', '?')}"
    if "delegate" in route:  # virtualservice.go validateHTTPRouteConflict: a root route, or a delegate's
        if delegate:
            return [f"{label}: delegate HTTP route cannot contain delegate"]
        return [f"{label}: root HTTP route {route.get('name')} must not specify {k}" for k in ("route", "redirect")
                if k in route]
    problems += [f"{label}: {p}" for p in _route_conflict(route)]
    if len(dests) > 1 and sum(d.get("weight", 0) for d in dests) == 0:
        problems.append(f"{label}: total destination weight = 0")
    for d in dests:
        dest = d.get("destination", {})
        if d.get("weight", 0) < 0:
            problems.append(f"{label}: weight {d['weight']} < 0")
        if dest.get("host") == "*":
            problems.append(f"{label}: invalid destination host *")
        if "subset" in dest and not _label(dest["subset"]):
            problems.append(f"{label}: subset name {dest['subset']!r} is not a DNS-1123 label")
    return problems


def _route_conflict(route: dict) -> list[str]:
    """virtualservice.go validateHTTPRouteConflict (a non-delegate route) and validation.go validateHTTPDirectResponse."""
    problems, direct = [], route.get("directResponse")
    if route.get("redirect") is not None and route.get("route"):
        problems.append("HTTP route cannot contain both route and redirect")
    elif route.get("redirect") is None and direct is not None and route.get("route"):
        problems.append("HTTP route cannot contain both route and direct_response")
    elif route.get("redirect") is None and direct is None and not route.get("route"):
        problems.append("HTTP route, redirect or direct_response is required")
    if direct is not None and not 200 <= direct.get("status", 0) <= 600:  # validateHTTPStatus, 600 included upstream
        problems.append(f"HTTP status {direct.get('status', 0)} is not in range 200-599")
    return problems


def gateway(name: str, spec: dict) -> list[str]:
    """ValidateGateway and validateServer: servers, hosts, unique port names, TLS on the right ports."""
    problems, names = [], set()
    if not spec.get("servers"):
        problems.append(f"Gateway {name}: gateway must have at least one server")
    for server in spec.get("servers", []):
        port, tls = server.get("port", {}), server.get("tls")
        if not server.get("hosts"):
            problems.append(f"Gateway {name}: server config must contain at least one host")
        if port.get("name") in names:
            problems.append(f"Gateway {name}: port names in servers must be unique: duplicate name {port['name']}")
        names.add(port.get("name"))
        is_tls = port.get("protocol", "").upper() in _TLS_PROTOCOLS
        if is_tls and tls is None:
            problems.append(f"Gateway {name}: server must have TLS settings for HTTPS/TLS protocols")
        elif not is_tls and tls and set(tls) - {"httpsRedirect"}:
            problems.append(f"Gateway {name}: server cannot have TLS settings for plain text HTTP ports")
        if is_tls and tls and tls_mode(server) in ("SIMPLE", "MUTUAL") \
                and not (tls.get("credentialName") or (tls.get("serverCertificate") and tls.get("privateKey"))):
            problems.append(f"Gateway {name}: {tls_mode(server)} TLS needs credentialName or a certificate "
                            "and key (validateTLSOptions)")
    return problems


def destination_rule(name: str, spec: dict) -> list[str]:
    """ValidateDestinationRule and validateSubsetName: unique subset names, each a DNS-1123 label."""
    problems, seen = [], set()
    for subset in spec.get("subsets", []):
        if subset["name"] in seen:
            problems.append(f"DestinationRule {name}: duplicate subset names: {subset['name']}")
        if not _label(subset["name"]):
            problems.append(f"DestinationRule {name}: subset name {subset['name']!r} is not a DNS-1123 label")
        seen.add(subset["name"])
    return problems


def peer_authentication(name: str, spec: dict) -> list[str]:
    """ValidatePeerAuthentication: port-level mTLS needs a workload selector, and real port numbers."""
    problems, ports = [], spec.get("portLevelMtls")
    if ports is not None and not spec.get("selector", {}).get("matchLabels"):
        problems.append(f"PeerAuthentication {name}: mesh/namespace peer authentication cannot have port level mTLS")
    if ports is not None and not ports:
        problems.append(f"PeerAuthentication {name}: port level mTLS, if defined, must have at least one element")
    for port in ports or {}:
        if not str(port).isdigit() or not 0 < int(port) <= 65535:
            problems.append(f"PeerAuthentication {name}: port {port} must be in range 1..65535")
    return problems


def gateway_binding(docs: list[dict]) -> list[str]:
    """A VirtualService host that no HTTP server of its Gateway serves is dropped from that gateway by istiod.

    istiod keeps only the VirtualService hosts that match a server's hosts
    (pilot/pkg/networking/core/gateway.go, pickMatchingGatewayHosts); istioctl analyze
    reports it (pkg/config/analysis/analyzers/virtualservice/gateways.go). Http routes are built
    only for HTTP servers (gateway.go buildGatewayHTTPRouteConfig; pkg/config/gateway IsHTTPServer).
    """
    problems, gateways = [], by_kind(docs, "Gateway")
    for name, vs in by_kind(docs, "VirtualService").items():
        for gw_name in vs["spec"].get("gateways", []):
            gw = gateways.get(gw_name.rpartition("/")[2])
            if gw_name == MESH or gw is None:
                continue
            servers = [s for s in gw["spec"].get("servers", []) if serves_routes(s)]
            served = [h.rpartition("/")[2] for s in servers for h in s.get("hosts", [])]
            if not any(host_matches(h, s) for h in vs["spec"].get("hosts", []) for s in served):
                problems.append(f"VirtualService {name}: none of its hosts is served by an HTTP server of Gateway "
                                f"{gw_name} that does not only redirect (an HTTPS server without tls.mode passes "
                                "TLS through: PASSTHROUGH)")
    return problems


def _first_route(http: list[dict], port: int) -> dict | None:
    """The first http route a request to ``port`` in the mesh may take: no match, or a match Istio keeps there."""
    for route in http:
        matches = route.get("match") or [{}]
        if any(listener_admits(m, (MESH, port)) for m in matches):
            return route
    return None


def service_ports(docs: list[dict]) -> list[str]:
    """In the mesh, a request to a Service port must reach that port of the pods.

    A route without a port match takes every port (pilot's sidecar route building,
    pilot/pkg/networking/core/route/route.go, sourceMatchHTTP / port matching), so a
    single route naming port 8080 sends gRPC on 8081 to the REST server.
    """
    problems, services = [], by_kind(docs, "Service")
    for name, vs in delegation.merged(by_kind(docs, "VirtualService")).items():
        if MESH not in vs["spec"].get("gateways", [MESH]):
            continue
        for host in vs["spec"].get("hosts", []):
            svc = services.get(host.split(".")[0]) if host.split(".")[0] in services and "*" not in host else None
            for port in (svc or {}).get("spec", {}).get("ports", []):
                route = _first_route(vs["spec"].get("http", []), port["port"])
                sent = {d["destination"].get("port", {}).get("number", port["port"]) for d in (route or {}).get("route", [])}
                if route and sent != {port["port"]}:
                    problems.append(f"VirtualService {name}: Service {svc['metadata']['name']} port {port['port']} "
                                    f"({port.get('name')}) is routed to port {sorted(sent)}")
    return problems


def _container_ports(docs: list[dict], selector: dict) -> set[int] | None:
    """The container port numbers of the pod templates a workload selector picks (None: it picks none here)."""
    pods = [pod for pod in crossref.pods(docs).values()
            if all(pod["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())]
    if not pods:
        return None
    return {p["containerPort"] for pod in pods for c in pod["spec"]["containers"] for p in c.get("ports", [])}


def policy_ports(docs: list[dict]) -> list[str]:
    """Ports that PeerAuthentications and AuthorizationPolicies name must be ports their workloads listen on.

    Istio matches them against the workload's target ports (pilot/pkg/security/authn,
    the port-level mTLS filter chains; pilot/pkg/security/authz/model, ports of an
    operation), so a port the pod does not listen on silently matches nothing.
    """
    problems = []
    for d in docs:
        selector = d.get("spec", {}).get("selector", {}).get("matchLabels")
        ports = _container_ports(docs, selector) if selector else None
        if ports is None or d["kind"] not in ("PeerAuthentication", "AuthorizationPolicy"):
            continue
        named = list(d["spec"].get("portLevelMtls", {}))
        named += [p for r in d["spec"].get("rules", []) for t in r.get("to", []) for p in t["operation"].get("ports", [])]
        problems += [f"{d['kind']} {d['metadata']['name']}: port {p} is not a port of the pods it selects"
                     for p in named if int(p) not in ports]
    return problems


RULES = {"VirtualService": virtual_service, "Gateway": gateway, "DestinationRule": destination_rule,
         "PeerAuthentication": peer_authentication}


def check(docs: list[dict]) -> list[str]:
    """Every webhook rule above on every Istio object, then the gateway bindings."""
    problems = []
    for doc in docs:
        rule = RULES.get(doc["kind"])
        if rule and doc["apiVersion"].endswith(".istio.io/v1"):
            problems += rule(doc["metadata"]["name"], doc.get("spec", {}))
    return problems + gateway_binding(docs) + service_ports(docs) + policy_ports(docs)
