"""Each runtime's own Envoy in front of it, as a pod's sidecar: where its requests are counted and timed.

The gateway times a mirrored copy from where it sends it: it sends the copy after the
request it answers with, on the same thread, and on a machine of two cores the copy's
runtime waits for a core while stable's answers. Measured there, a healthy canary's
copies were slower than stable's answers and its shadow analysis failed (docs/local.md,
"Where requests are counted"). On a cluster the judge reads Istio's destination side, each
pod's own sidecar; here each runtime has one too, and its stats are the ones the judge reads.
"""

from canary.local import envoy

# Istio's inbound clusters have no limits of their own (the client side enforces the DestinationRule's):
# Envoy's default 1024 would turn a burst into 503s counted against the revision.
_UNLIMITED = {k: 4294967295 for k in ("max_connections", "max_pending_requests", "max_requests", "max_retries")}
SIDECAR_OFFSET, ADMIN_OFFSET = 4, 5  # ports from a runtime's slot: REST, gRPC, metrics, admin, then these two
SLOT_PORTS = 6


def ports(slot: int) -> tuple[int, int]:
    """(listener, admin) of the sidecar of the runtime whose ports start at ``slot``."""
    return slot + SIDECAR_OFFSET, slot + ADMIN_OFFSET


def bootstrap(version: str, revision: str, slot: int) -> dict:
    """A static Envoy: one listener passing every request to the runtime's REST port, no timeout of its own
    (the gateway's route has it), the request id kept (the judge joins answers by it)."""
    listen, admin = ports(slot)
    route = {"match": {"prefix": "/"}, "route": {"cluster": "inbound", "timeout": "0s"}}
    hcm = {"preserve_external_request_id": True,
           "route_config": {"name": "inbound", "virtual_hosts": [{"name": "inbound", "domains": ["*"], "routes": [route]}]}}
    cluster = {"name": "inbound", "alt_stat_name": envoy.stat_name(version, revision), "type": "STATIC",
               "connect_timeout": "1s", "circuit_breakers": {"thresholds": [_UNLIMITED]},
               "load_assignment": {"cluster_name": "inbound", "endpoints": [{"lb_endpoints": [{"endpoint": {
                   "address": {"socket_address": {"address": "127.0.0.1", "port_value": slot}}}}]}]}}
    return {"node": {"id": f"ml-canary-{version}-{revision}", "cluster": "ml-canary"}, **envoy.stats_settings(),
            "admin": envoy.admin(admin), "static_resources": {"listeners": [envoy.listener("inbound", listen, hcm)],
                                                             "clusters": [cluster]}}


def target(version: str, revision: str, slot: int) -> dict:
    """Its Prometheus target: the stats carry version and revision from here, and reporter as Istio's do."""
    return {"target": f"127.0.0.1:{ports(slot)[1]}", "version": version, "revision": revision,
            "path": "/stats/prometheus", "reporter": "destination"}
