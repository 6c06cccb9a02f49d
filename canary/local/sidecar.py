"""Each runtime's own Envoy in front of it, as a pod's sidecar: where its requests are counted and timed.

The gateway times a mirrored copy from where it sends it: it sends the copy after the
request it answers with, on the same thread, and on a machine of two cores the copy's
runtime waits for a core while stable's answers. Measured there, a healthy canary's
copies were slower than stable's answers and its shadow analysis failed (docs/local.md,
"Where requests are counted"). On a cluster the judge reads Istio's destination side, each
pod's own sidecar; here each runtime has one too, and its stats are the ones the judge reads.
"""

import json
from pathlib import Path
from typing import Any

from canary.local import envoy
from canary.local.mesh import MeshPolicy
from canary.rollout.durations import seconds

# Istio's inbound clusters have no limits of their own (the client side enforces the DestinationRule's):
# Envoy's default 1024 would turn a burst into 503s counted against the revision.
_UNLIMITED = dict.fromkeys(("max_connections", "max_pending_requests", "max_requests", "max_retries"), 4294967295)
SIDECAR_OFFSET, ADMIN_OFFSET = 4, 5  # ports from a runtime's slot: REST, gRPC, metrics, admin, then these two
SLOT_PORTS = ADMIN_OFFSET + 1
# The runtimes close a connection idle for 5 s (uvicorn) or 2 s (gunicorn): the sidecar closes its own first, so
# no request is sent on a connection the runtime is closing.
_IDLE = {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
    "common_http_protocol_options": {"idle_timeout": "1s"}, "explicit_http_config": {"http_protocol_options": {}}}}


def ports(slot: int) -> tuple[int, int]:
    """(listener, admin) of the sidecar of the runtime whose ports start at ``slot``."""
    return slot + SIDECAR_OFFSET, slot + ADMIN_OFFSET


def _route(mesh: MeshPolicy) -> dict[str, Any]:
    """Gives up just before the gateway's attempt does, so a runtime too slow to answer is charged its 504 (the
    gateway's own 504 would reach no revision); retries a reset or refused connection once, as the gateway would."""
    gateway_s = seconds(mesh.retry.per_try_timeout if mesh.retry else mesh.timeout)
    return {"cluster": "inbound", "timeout": f"{max(gateway_s - 0.1, 0.05):.3f}s",
            "retry_policy": {"retry_on": "connect-failure,refused-stream,reset", "num_retries": 1}}


def bootstrap(version: str, revision: str, slot: int, mesh: MeshPolicy, model: str = "wine",
              tracing: envoy.EnvoyTracing | None = None) -> dict[str, Any]:
    """A static Envoy: one listener passing every request to the runtime's REST port, the request id kept (the
    judge joins answers by it). ``tracing``: its connection manager's tracing and the cluster spans go to."""
    listen, admin = ports(slot)
    route = {"match": {"prefix": "/"}, "route": _route(mesh)}
    hcm: dict[str, Any] = {"preserve_external_request_id": True,
                           "route_config": {"name": "inbound",
                                            "virtual_hosts": [{"name": "inbound", "domains": ["*"], "routes": [route]}]}}
    if tracing:
        hcm["tracing"] = tracing[0]
    cluster = {"name": "inbound", "alt_stat_name": envoy.stat_name(version, revision, model), "type": "STATIC",
               "connect_timeout": "1s", "circuit_breakers": {"thresholds": [_UNLIMITED]},
               "typed_extension_protocol_options": _IDLE,
               "load_assignment": {"cluster_name": "inbound", "endpoints": [{"lb_endpoints": [{"endpoint": {
                   "address": {"socket_address": {"address": "127.0.0.1", "port_value": slot}}}}]}]}}
    return {"node": {"id": f"ml-canary-{version}-{revision}", "cluster": "ml-canary"}, **envoy.stats_settings(),
            "admin": envoy.admin(admin), "static_resources": {"listeners": [envoy.listener("inbound", listen, hcm)],
                                                             "clusters": [cluster, *([tracing[1]] if tracing else [])]}}


def command(binary: str, folder: Path, version: str, revision: str, slot: int, mesh: MeshPolicy,
            model: str = "wine", tracing: envoy.EnvoyTracing | None = None) -> list[str]:
    """Write the sidecar's configuration into ``folder``; its Envoy's command line."""
    config = folder / "sidecar.json"
    config.write_text(json.dumps(bootstrap(version, revision, slot, mesh, model, tracing)))
    return envoy.command(binary, config)


def target(version: str, revision: str, slot: int) -> dict[str, str]:
    """Its Prometheus target: the stats carry version and revision from here, and reporter as Istio's do."""
    return {"target": f"127.0.0.1:{ports(slot)[1]}", "version": version, "revision": revision,
            "path": "/stats/prometheus", "reporter": "destination"}
