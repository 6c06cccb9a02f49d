"""The generator's own Prometheus metrics (``--metrics-port``): what the users saw."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Exporter:
    """Client-side requests by version and status, and latency from the intended send time."""

    def __init__(self, registry: CollectorRegistry, target_rps: float):
        self.requests = Counter(
            "loadgen_requests", "Requests the load generator completed, by version and status.",
            ("model_version", "code"), registry=registry,
        )
        self.latency = Histogram(
            "loadgen_request_latency_seconds", "Latency from the intended send time (coordinated omission corrected).",
            ("model_version",), buckets=LATENCY_BUCKETS, registry=registry,
        )
        self.target = Gauge("loadgen_target_rps", "Offered rate, requests per second.", registry=registry)
        self.target.set(target_rps)

    def observe(self, version: str, status, latency_s: float, success: bool) -> None:
        """Count one response for Prometheus."""
        self.requests.labels(version, str(status)).inc()
        self.latency.labels(version).observe(latency_s)


def serve(port: int, target_rps: float) -> Exporter:
    """Serve the generator's own metrics on ``port``."""
    registry = CollectorRegistry()
    exporter = Exporter(registry, target_rps)
    start_http_server(port, addr="0.0.0.0", registry=registry)
    return exporter
