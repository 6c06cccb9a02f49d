"""Envoy as the gateway: a static listener whose routes (RDS) and clusters (CDS) are files.

Weights and header routes change by rewriting the route file only; the listener
is never replaced, because replacing a listener drains its connections and
fails requests in flight.
"""

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canary.local.mesh import MeshPolicy
from canary.rollout.durations import seconds
from canary.rollout.interfaces import HeaderRoute, MirrorRoute
from servers.admin import VERSION_HEADER
from servers.feedback import FEEDBACK_PATH, SELDON_FEEDBACK_PATH

ROUTE_CONFIG = "primary"
OTLP_CLUSTER = "otlp"  # where an Envoy's OpenTelemetry tracer sends its spans (canary.local.tracing)
EnvoyTracing = tuple[dict[str, Any], dict[str, Any]]
"""An Envoy's connection-manager ``tracing`` and the cluster its spans go to (canary.local.tracing.envoy)."""
FEEDBACK_PATHS = (FEEDBACK_PATH, SELDON_FEEDBACK_PATH)  # MLServer's, then the Seldon wrapper's own
LATENCY_BUCKETS_MS = [0.5, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 75, 100, 150, 250, 500, 1000,
                      2500, 5000, 10000, 30000, 60000]
_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


def cluster_name(version: str, model: str = "wine") -> str:
    """Envoy's cluster for one version's runtime, named as a cluster's mesh names it: the model's, then the version."""
    return f"{model}-{version}"


def stat_name(version: str, revision: str, model: str = "wine") -> str:
    """The name a runtime's sidecar gives its stats (its Prometheus target carries version and revision)."""
    return f"{model}-{version}-{revision}"


@dataclass
class Routing:
    """The gateway's routing state: which version is where, with what weight."""

    stable: str
    canary: str | None = None
    canary_weight: int = 0
    header_routes: list[HeaderRoute] = field(default_factory=list)
    mirror_routes: list[MirrorRoute] = field(default_factory=list)
    model: str = "wine"
    """The model's name: the gateway's virtual host and the prefix of every cluster's."""


def stats_settings() -> dict[str, Any]:
    """Finer latency buckets than Envoy's defaults at the low end, where a model answers; a 1 s flush,
    so histograms reach Prometheus as fast as counters (default 5 s). No stats of the span exporter's cluster:
    the rules and the judge sum every cluster of a sidecar as its version's requests (canary.local.tracing)."""
    return {"stats_flush_interval": "1s",
            "stats_config": {"histogram_bucket_settings": [{"match": {"prefix": "cluster."},
                                                            "buckets": LATENCY_BUCKETS_MS}],
                             "stats_matcher": {"exclusion_list": {"patterns": [{"prefix": f"cluster.{OTLP_CLUSTER}."}]}}}}


def listener(name: str, port: int, hcm: dict[str, Any]) -> dict[str, Any]:
    """A listener on this machine whose one filter is the HTTP connection manager ``hcm``."""
    hcm = {"@type": _HCM, "stat_prefix": name, **hcm,
           "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER}}]}
    return {"name": name, "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                            "typed_config": hcm}]}]}


def admin(port: int) -> dict[str, Any]:
    """Envoy's admin API on this machine: stats for Prometheus, readiness."""
    return {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}


def command(binary: str, config_path: Path) -> list[str]:
    """Envoy's command line: one worker thread; no hot restart, so several (sidecars, a bench) run side by side."""
    return [binary, "-c", str(config_path), "--concurrency", "1", "--log-level", "warn", "--disable-hot-restart"]


def bootstrap(gateway_port: int, admin_port: int, cds_path: Path, rds_path: Path,
              tracing: EnvoyTracing | None = None) -> dict[str, Any]:
    """The static part: one listener whose routes come from the RDS file, clusters from the CDS file.
    ``tracing``: the connection manager's tracing and the cluster its spans go to (canary.local.tracing)."""
    def source(path: Path) -> dict[str, Any]:
        return {"path_config_source": {"path": str(path)}, "resource_api_version": "V3"}

    hcm: dict[str, Any] = {"rds": {"route_config_name": ROUTE_CONFIG, "config_source": source(rds_path)}}
    if tracing:
        hcm["tracing"] = tracing[0]
    static = {"listeners": [listener("gateway", gateway_port, hcm)], **({"clusters": [tracing[1]]} if tracing else {})}
    return {
        "node": {"id": "ml-canary-gateway", "cluster": "ml-canary"}, **stats_settings(), "admin": admin(admin_port),
        "dynamic_resources": {"cds_config": source(cds_path)}, "static_resources": static,
    }


def cluster(version: str, port: int, mesh: MeshPolicy, model: str = "wine") -> dict[str, Any]:
    """One version, reached through its runtime's sidecar on ``port``, with the DestinationRule's pool limits
    and outlier detection (as a client's sidecar applies them on a cluster)."""
    out: dict[str, Any] = {
        "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
        "name": cluster_name(version, model),
        "type": "STATIC",
        "connect_timeout": mesh.connect_timeout,
        "load_assignment": {
            "cluster_name": cluster_name(version, model),
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {
                "address": "127.0.0.1", "port_value": port}}}}]}],
        },
    }
    limits = {k: v for k, v in (("max_connections", mesh.max_connections),
                                ("max_pending_requests", mesh.max_pending_requests),
                                ("max_requests", mesh.max_requests)) if v}
    if limits:
        out["circuit_breakers"] = {"thresholds": [limits]}
    if mesh.outlier:
        o = mesh.outlier
        five_xx = o.get("consecutive5xxErrors", 5)
        out["outlier_detection"] = {
            # Istio's consecutive5xxErrors: 0 turns 5xx ejection off; Envoy needs enforcing 0.
            "consecutive_5xx": five_xx or 5,
            "enforcing_consecutive_5xx": 100 if five_xx else 0,
            "consecutive_gateway_failure": o.get("consecutiveGatewayErrors", 5),
            "enforcing_consecutive_gateway_failure": 100 if o.get("consecutiveGatewayErrors") else 0,
            "interval": o.get("interval", "10s"),
            "base_ejection_time": o.get("baseEjectionTime", "30s"),
            "max_ejection_percent": o.get("maxEjectionPercent", 10),
        }
    return out


def _tag(version: str) -> list[dict[str, Any]]:
    # Errors answered by a runtime carry no version header of their own.
    return [{"header": {"key": VERSION_HEADER, "value": version}, "append_action": "ADD_IF_ABSENT"}]


def _action(mesh: MeshPolicy) -> dict[str, Any]:
    action: dict[str, Any] = {"timeout": f"{seconds(mesh.timeout)}s"}
    if mesh.retry:
        action["retry_policy"] = {"retry_on": mesh.retry.retry_on, "num_retries": mesh.retry.attempts,
                                  "per_try_timeout": f"{seconds(mesh.retry.per_try_timeout)}s"}
    return action


def _header_match(name: str, kind: str, value: str) -> dict[str, Any]:
    matcher = {"safe_regex": {"regex": value}} if kind == "regex" else {kind: value}
    return {"name": name, "string_match": matcher}


def _mirror_match(conditions: tuple[tuple[str, str, str], ...]) -> dict[str, Any]:
    """One alternative of a mirror route's match: method, path and headers, all of which must hold."""
    match: dict[str, Any] = {"prefix": "/"}
    headers: list[dict[str, Any]] = []
    for what, kind, value in conditions:
        if what == "path":
            match = ({"safe_regex": {"regex": value}} if kind == "regex"
                     else {"path" if kind == "exact" else "prefix": value})
        else:
            headers.append(_header_match(":method" if what == "method" else what.removeprefix("header:"), kind, value))
    return {**match, **({"headers": headers} if headers else {})}


def _mirror_entries(routing: Routing, weighted: list[dict[str, Any]], mesh: MeshPolicy) -> list[dict[str, Any]]:
    """Mirror routes answer as primary does and copy a share of their requests to the canary."""
    entries: list[dict[str, Any]] = []
    if not routing.canary:
        return entries
    for mirror in routing.mirror_routes:
        policy = {"cluster": cluster_name(routing.canary, routing.model), "runtime_fraction": {
            "default_value": {"numerator": mirror.percentage, "denominator": "HUNDRED"}}}
        for i, conditions in enumerate(mirror.matches or ((),)):
            entries.append({"name": f"{mirror.name}-{i}", "match": _mirror_match(conditions),
                            "route": {"weighted_clusters": {"clusters": weighted}, "request_mirror_policies": [policy],
                                      **_action(mesh)}})
    return entries


def _feedback_entries(routing: Routing, mesh: MeshPolicy) -> list[dict[str, Any]]:
    """Feedback goes to the version that answered, by the answer's version header; without it, a 400.

    Weighted routing would send it to either version and credit the wrong model.
    """
    entries: list[dict[str, Any]] = []
    for path in FEEDBACK_PATHS:
        for version in filter(None, (routing.stable, routing.canary)):
            entries.append({"name": f"feedback-{version}", "route": {"cluster": cluster_name(version, routing.model), **_action(mesh)},
                            "match": {"path": path, "headers": [_header_match(VERSION_HEADER, "exact", version)]},
                            "response_headers_to_add": _tag(version)})
        entries.append({"name": "feedback-unrouted", "match": {"path": path}, "direct_response": {
            "status": 400, "body": {"inline_string": f"feedback needs the answer's {VERSION_HEADER} header, naming a "
                                                    f"version being served: {routing.stable}"
                                                    + (f", {routing.canary}" if routing.canary else "") + "\n"}}})
    return entries


def routes(routing: Routing, mesh: MeshPolicy) -> dict[str, Any]:
    """The route configuration: feedback, header routes (as Argo inserts them), mirror routes, then primary."""
    entries = _feedback_entries(routing, mesh)
    if routing.canary:
        for header_route in routing.header_routes:
            for i, (name, kind, value) in enumerate(header_route.matches):
                entries.append({
                    "name": f"{header_route.name}-{i}",
                    "match": {"prefix": "/", "headers": [_header_match(name, kind, value)]},
                    "route": {"cluster": cluster_name(routing.canary, routing.model), **_action(mesh)},
                    "response_headers_to_add": _tag(routing.canary),
                })
    weighted: list[dict[str, Any]] = [{"name": cluster_name(routing.stable, routing.model),
                                       "weight": 100 - routing.canary_weight,
                                       "response_headers_to_add": _tag(routing.stable)}]
    if routing.canary and routing.canary_weight:
        weighted.append({"name": cluster_name(routing.canary, routing.model), "weight": routing.canary_weight,
                         "response_headers_to_add": _tag(routing.canary)})
    weighted = [w for w in weighted if w["weight"] > 0]
    entries += _mirror_entries(routing, weighted, mesh)
    entries.append({"name": "primary", "match": {"prefix": "/"},
                    "route": {"weighted_clusters": {"clusters": weighted}, **_action(mesh)}})
    return {"@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "name": ROUTE_CONFIG,
            "virtual_hosts": [{"name": routing.model, "domains": ["*"], "routes": entries}]}


class EnvoyFiles:
    """The CDS and RDS files Envoy watches; every write is a rename, which Envoy picks up."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.cds = self.folder / "cds.json"
        self.rds = self.folder / "rds.json"
        self._version = 0

    def _write(self, path: Path, resources: list[dict[str, Any]]) -> None:
        self._version += 1
        body = json.dumps({"version_info": str(self._version), "resources": resources}, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{path.name}.")
        with os.fdopen(fd, "w") as f:
            f.write(body)
        os.replace(tmp, path)

    def write_clusters(self, clusters: list[dict[str, Any]]) -> None:
        """Replace the clusters (one per running version)."""
        self._write(self.cds, clusters)

    def write_routes(self, route_config: dict[str, Any]) -> None:
        """Replace the route configuration (weights and header routes)."""
        self._write(self.rds, [route_config])
