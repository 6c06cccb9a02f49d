"""Istio's admission rules on every rendered overlay, each proved by a manifest it refuses."""

import os
import subprocess

import pytest
import yaml

from tests.k8s import istio
from tests.k8s.support import ROOT, by_kind, problems_after

pytestmark = pytest.mark.tools


@pytest.mark.parametrize("a, b, same", [
    ("*", "wine.ml-canary.svc.cluster.local", True), ("*.foo.com", "*.com", True), ("a.foo.com", "*.foo.com", True),
    ("wine.example.com", "wine.ml-canary.svc.cluster.local", False), ("*.foo.com", "bar.com", False)])
def test_hosts_match_as_istios_host_name_matches(a, b, same):
    assert istio.host_matches(a, b) is same and istio.host_matches(b, a) is same


def _edit(kind, name, change):
    def mutate(docs):
        change(by_kind(docs, kind)[name]["spec"])
    return mutate


def _route(spec, name):
    return next(r for r in spec["http"] if r["name"] == name)


def _servers(spec, *servers):
    spec["servers"] = list(servers)


HTTP = {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["wine.example.com"]}
HTTPS = {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["wine.example.com"]}

REFUSED = [
    # The VirtualService as first shipped: both errors at once.
    (_edit("VirtualService", "wine", lambda s: s.update(hosts=["*", "wine.ml-canary.svc.cluster.local"])),
     "wildcard host * is not allowed for virtual services bound to the mesh gateway"),
    (_edit("VirtualService", "wine", lambda s: s.update(hosts=["*", "wine.ml-canary.svc.cluster.local"])),
     "duplicate hosts in virtual service: * & wine.ml-canary.svc.cluster.local"),
    (_edit("VirtualService", "wine", lambda s: s.update(hosts=["*.ml-canary.svc.cluster.local", "wine.ml-canary.svc.cluster.local"])),
     "duplicate hosts"),
    (_edit("VirtualService", "wine", lambda s: s.update(gateways=["Wine_Gateway", "mesh"])), "invalid gateway name 'Wine_Gateway'"),
    (_edit("VirtualService", "wine-grpc", lambda s: [d.update(weight=0) for d in _route(s, "grpc")["route"]]), "total destination weight = 0"),
    (_edit("VirtualService", "wine-grpc", lambda s: _route(s, "grpc")["route"][0]["destination"].update(host="*")), "invalid destination host *"),
    (_edit("VirtualService", "wine-grpc", lambda s: _route(s, "grpc")["route"][1]["destination"].update(subset="Canary")), "subset name 'Canary'"),
    # Delegation (virtualservice.go validateHTTPRouteConflict; validation.go ValidateVirtualService).
    (_edit("VirtualService", "wine", lambda s: _route(s, "rest").update(route=_route(s, "feedback-v1")["route"])),
     "root HTTP route rest must not specify route"),
    (_edit("VirtualService", "wine-rest", lambda s: _route(s, "primary").update(delegate={"name": "wine-grpc"})),
     "delegate HTTP route cannot contain delegate"),
    (_edit("VirtualService", "wine-grpc", lambda s: s.update(gateways=["mesh"])), "delegate virtual service must have no gateways"),
    (_edit("VirtualService", "wine", lambda s: _route(s, "feedback-unrouted").update(route=_route(s, "feedback-v1")["route"])),
     "HTTP route cannot contain both route and direct_response"),
    (_edit("VirtualService", "wine", lambda s: _route(s, "feedback-unrouted")["directResponse"].update(status=700)),
     "HTTP status 700 is not in range 200-599"),
    (_edit("VirtualService", "wine", lambda s: _route(s, "feedback-v1").pop("route")), "HTTP route, redirect or direct_response is required"),
    (_edit("Gateway", "wine-gateway", lambda s: _servers(s)), "gateway must have at least one server"),
    (_edit("Gateway", "wine-gateway", lambda s: _servers(s, HTTP, {**HTTP, "port": {**HTTP["port"], "number": 8080}})),
     "port names in servers must be unique: duplicate name http"),
    (_edit("Gateway", "wine-gateway", lambda s: _servers(s, HTTPS)), "server must have TLS settings for HTTPS/TLS protocols"),
    (_edit("Gateway", "wine-gateway", lambda s: _servers(s, {**HTTP, "tls": {"mode": "SIMPLE", "credentialName": "c"}})),
     "server cannot have TLS settings for plain text HTTP ports"),
    (_edit("Gateway", "wine-gateway", lambda s: _servers(s, {**HTTPS, "tls": {"mode": "SIMPLE"}})), "SIMPLE TLS needs credentialName"),
    (_edit("Gateway", "wine-gateway", lambda s: _servers(s, {**HTTP, "hosts": []})), "server config must contain at least one host"),
    (_edit("Gateway", "wine-gateway", lambda s: _servers(s, {**HTTP, "hosts": ["other.example.com"]})),
     "none of its hosts is served by an HTTP server of Gateway wine-gateway"),
    # No tls.mode: PASSTHROUGH, the enum's zero value, not SIMPLE. The HTTPS server then serves no http route,
    # and the port-80 server only redirects to it.
    (_edit("Gateway", "wine-gateway", lambda s: s["servers"][0]["tls"].pop("mode")),
     "an HTTPS server without tls.mode passes TLS through"),
    (_edit("DestinationRule", "wine", lambda s: s["subsets"].append(dict(s["subsets"][0]))), "duplicate subset names: stable"),
    (_edit("VirtualService", "wine", lambda s: s["http"].remove(_route(s, "grpc"))),  # one route for all ports, as first shipped
     "Service wine port 8081 (grpc) is routed to port [8080]"),
    (_edit("PeerAuthentication", "wine-metrics", lambda s: s.update(portLevelMtls={"8083": {"mode": "PERMISSIVE"}})),
     "PeerAuthentication wine-metrics: port 8083 is not a port of the pods it selects"),
    (_edit("AuthorizationPolicy", "wine-inference", lambda s: s["rules"][2]["to"][0]["operation"].update(ports=["9090"])),
     "AuthorizationPolicy wine-inference: port 9090 is not a port of the pods it selects"),
    (_edit("PeerAuthentication", "wine-metrics", lambda s: s.pop("selector")),
     "mesh/namespace peer authentication cannot have port level mTLS"),
    (_edit("PeerAuthentication", "wine-metrics", lambda s: s.update(portLevelMtls={"0": {"mode": "PERMISSIVE"}})),
     "port 0 must be in range 1..65535"),
]


@pytest.mark.parametrize("mutate, message", REFUSED, ids=[m for _, m in REFUSED])
def test_what_istios_webhook_refuses_is_refused(mlserver, mutate, message):
    problems = problems_after(mlserver, mutate, istio.check)
    assert any(message in p for p in problems), problems


def test_the_host_and_tls_knobs_set_the_gateway_and_the_virtual_service():
    out = subprocess.run(["hack/render.sh", "mlserver"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "HOST": "wine.acme.com", "TLS_SECRET": "acme-cert"}, check=True)
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    servers = by_kind(docs, "Gateway")["wine-gateway"]["spec"]["servers"]
    assert [s["hosts"] for s in servers] == [["wine.acme.com"]] * 2
    assert [s["tls"].get("credentialName") for s in servers] == ["acme-cert", None]
    assert by_kind(docs, "VirtualService")["wine"]["spec"]["hosts"][0] == "wine.acme.com"
    assert istio.check(docs) == []


def test_a_host_that_is_not_a_dns_name_is_refused_before_rendering():
    out = subprocess.run(["hack/render.sh", "mlserver"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "HOST": "*"})
    assert out.returncode == 2 and "HOST=* is not a DNS name" in out.stderr


def test_the_public_gateway_serves_https_and_plain_http_only_redirects(mlserver):
    for server in by_kind(mlserver, "Gateway")["wine-gateway"]["spec"]["servers"]:
        tls = server.get("tls", {})
        assert tls.get("credentialName") if server["port"]["protocol"] == "HTTPS" else tls == {"httpsRedirect": True}
