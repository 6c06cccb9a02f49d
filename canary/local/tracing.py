"""Tracing on one machine: a real Jaeger (v2, built from its Go module), and the Envoys' OpenTelemetry tracer.

Jaeger v2 is an OpenTelemetry collector with Jaeger's storage and query service: it takes OTLP
from the gateway, the sidecars and the runtimes, keeps traces in memory and serves its query API
on ``tracing_port`` (built from its Go module it has no UI pages: those are built with npm
outside the module; the dashboard draws a trace from the API). Its ports, from ``tracing_port``:
the query API, the query's gRPC, OTLP gRPC (the Envoys and MLServer), OTLP HTTP (the Seldon wrapper).
"""

import json
import shutil
from pathlib import Path
from typing import Any

from canary.local import ports
from canary.local.envoy import OTLP_CLUSTER, EnvoyTracing
from canary.local.settings import StackSettings, default_tools

UI, QUERY_GRPC, OTLP_GRPC, OTLP_HTTP = range(4)
PORTS = 4
GATEWAY_SERVICE = "gateway"
# The runtimes record a request's span only when the Envoy in front sampled it: a probe or a direct call (no
# traceparent) is not traced, so the sampling setting holds and the probes do not fill Jaeger's memory.
SAMPLER = "parentbased_always_off"
MAX_TRACES = 20_000  # in memory: at 50 requests a second, the last several minutes


def binary(s: StackSettings) -> str | None:
    """CANARY_JAEGER_BIN, else the one 'make tracing-tools' built, else jaeger on PATH; None when there is none."""
    if s.jaeger_bin:  # a path (resolved by the settings), or a name on PATH
        return s.jaeger_bin if Path(s.jaeger_bin).exists() else shutil.which(s.jaeger_bin)
    built = default_tools() / "jaeger"
    return str(built) if built.exists() else shutil.which("jaeger")


def off_reason(s: StackSettings) -> str | None:
    """Why the stack runs without tracing, or None when it runs Jaeger. Under ``auto`` a taken port turns tracing
    off, not the stack (``on`` refuses to start instead: canary.local.preflight)."""
    if s.tracing == "off":
        return "tracing is off (CANARY_TRACING=off)"
    if binary(s) is None:
        where = s.jaeger_bin or f"{default_tools() / 'jaeger'} or PATH"
        return f"tracing is off: no Jaeger at {where} ('make tracing-tools' builds it)"
    if s.tracing == "auto" and (taken := ports.check(wanted_ports(s))):
        return f"tracing is off: {taken[0]}"
    return None


def wanted_ports(s: StackSettings) -> dict[str, tuple[int, str]]:
    """Jaeger's ports, as canary.local.ports.check takes them."""
    return {f"jaeger port {s.tracing_port + i}": (s.tracing_port + i, "CANARY_TRACING_PORT") for i in range(PORTS)}


def port(s: StackSettings, which: int) -> int:
    """One of Jaeger's ports (UI, QUERY_GRPC, OTLP_GRPC, OTLP_HTTP)."""
    return s.tracing_port + which


def ui_url(s: StackSettings) -> str:
    """Jaeger's UI and query API."""
    return f"http://127.0.0.1:{port(s, UI)}"


def config(s: StackSettings) -> dict[str, Any]:
    """Jaeger v2's configuration: OTLP in, memory storage, the query API and UI on this machine only; no
    telemetry port of its own (its default, 8888, would collide with a second stack's)."""
    def on(which: int) -> dict[str, str]:
        return {"endpoint": f"127.0.0.1:{port(s, which)}"}

    return {
        "service": {"extensions": ["jaeger_storage", "jaeger_query"],
                    "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["batch"],
                                             "exporters": ["jaeger_storage_exporter"]}},
                    "telemetry": {"metrics": {"level": "none"}, "logs": {"level": "warn"}}},
        # enable_tracing off: Jaeger v2 traces its own queries by default, to localhost:4317 (someone else's
        # collector, or none: then its exit waits 10 s for an export that cannot happen)
        "extensions": {"jaeger_query": {"storage": {"traces": "memory"}, "http": on(UI), "grpc": on(QUERY_GRPC),
                                        "enable_tracing": False},
                       "jaeger_storage": {"backends": {"memory": {"memory": {"max_traces": MAX_TRACES}}}}},
        "receivers": {"otlp": {"protocols": {"grpc": on(OTLP_GRPC), "http": on(OTLP_HTTP)}}},
        "processors": {"batch": {}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "memory"}},
    }


def command(jaeger: str, config_path: Path) -> list[str]:
    """Jaeger's command line (JSON is YAML, which its --config reads)."""
    return [jaeger, "--config", str(config_path)]


def prepare(s: StackSettings, folder: Path) -> list[str]:
    """Write Jaeger's configuration into ``folder``; its command line."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(json.dumps(config(s), indent=1))
    return command(str(binary(s)), folder / "config.yaml")


def ready_url(s: StackSettings) -> str:
    """Answers once Jaeger's query API does (its receivers start before it)."""
    return f"{ui_url(s)}/api/services"


def otlp_cluster(s: StackSettings) -> dict[str, Any]:
    """The Envoy cluster its OpenTelemetry tracer exports to: Jaeger's OTLP gRPC port (HTTP/2)."""
    return {"name": OTLP_CLUSTER, "type": "STATIC", "connect_timeout": "1s",
            "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}}}},
            "load_assignment": {"cluster_name": OTLP_CLUSTER, "endpoints": [{"lb_endpoints": [{"endpoint": {
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": port(s, OTLP_GRPC)}}}}]}]}}


def envoy(s: StackSettings, service: str, tags: dict[str, str] | None = None) -> EnvoyTracing:
    """An Envoy's tracing as ``service`` at the stack's sampling, and the cluster its spans go to."""
    return hcm_tracing(service, s.trace_sampling, tags), otlp_cluster(s)


def hcm_tracing(service: str, sampling: float, tags: dict[str, str] | None = None) -> dict[str, Any]:
    """An HTTP connection manager's ``tracing``: Envoy's OpenTelemetry tracer, W3C trace context (a client's
    ``traceparent`` is continued), ``sampling`` percent of requests that arrive without a decision."""
    provider = {"name": "envoy.tracers.opentelemetry", "typed_config": {
        "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig",
        "grpc_service": {"envoy_grpc": {"cluster_name": OTLP_CLUSTER}, "timeout": "1s"},
        "service_name": service}}
    return {"random_sampling": {"value": sampling}, "provider": provider, "spawn_upstream_span": False,
            "custom_tags": [{"tag": k, "literal": {"value": v}} for k, v in sorted((tags or {}).items())]}


def runtime_env(s: StackSettings, version: str) -> dict[str, str]:
    """A runtime's tracing variables: MLServer's built-in exporter (OTLP gRPC), the Seldon wrapper's (OTLP HTTP,
    servers.seldon_tracing). Each names its service after the runtime; the version is on the span."""
    return {"MLSERVER_TRACING_SERVER": f"127.0.0.1:{port(s, OTLP_GRPC)}",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{port(s, OTLP_HTTP)}/v1/traces",
            "OTEL_TRACES_SAMPLER": SAMPLER}
