"""Jaeger's query API (``/api/traces``, the one its UI reads): one trace, and a version's slowest recent requests.

A version is found by the span its runtime's sidecar writes (service ``MODEL-VERSION``,
canary.local.tracing and k8s/components/tracing): the place its requests are timed, as the
judge's latency test times them. Every call gives up within ``timeout_s`` and answers
nothing rather than fail the caller: traces explain a verdict, they never decide one.
"""

import time
from dataclasses import dataclass
from typing import Any

import httpx

from canary import pooled


@dataclass(frozen=True)
class Span:
    """One span of a trace: the service that wrote it, what it did, when and for how long, its tags."""

    service: str
    operation: str
    span_id: str
    parent_id: str | None
    start_us: int
    duration_us: int
    tags: dict[str, Any]


TRACE_ID = "^[0-9a-f]{32}$"
"""A W3C trace id as Jaeger answers it: 32 lower-case hex digits."""


@dataclass(frozen=True)
class Slow:
    """One slow request: its trace, how long the version's span took, and Jaeger's API address of the trace."""

    trace_id: str
    duration_ms: float
    url: str


def _get(url: str, params: dict[str, Any] | None, timeout_s: float) -> list[dict[str, Any]]:
    try:
        response = pooled.client().get(url, params=params, timeout=timeout_s)
        response.raise_for_status()
        return list(response.json().get("data") or [])
    except (httpx.HTTPError, ValueError, AttributeError):
        return []


def _spans(trace: dict[str, Any]) -> list[Span]:
    services = {k: p.get("serviceName", "") for k, p in trace.get("processes", {}).items()}
    out = []
    for s in trace.get("spans", []):
        parent = next((r["spanID"] for r in s.get("references", []) if r.get("refType") == "CHILD_OF"), None)
        out.append(Span(services.get(s.get("processID"), ""), s.get("operationName", ""), s["spanID"], parent,
                        int(s.get("startTime", 0)), int(s.get("duration", 0)),
                        {t["key"]: t.get("value") for t in s.get("tags", [])}))
    return out


def api_url(base: str, trace_id: str) -> str:
    """Jaeger's query API for one trace (JSON). A Jaeger built from its Go module serves no UI of its own: its web
    assets are built by npm outside the module; the dashboard draws a trace from this (``/trace/ID``)."""
    return f"{base}/api/traces/{trace_id}"


def trace(base: str, trace_id: str, timeout_s: float = 2.0) -> list[Span]:
    """Every span Jaeger holds of one trace (none when it holds none or does not answer)."""
    found = _get(api_url(base, trace_id), None, timeout_s)
    return _spans(found[0]) if found else []


def slowest(base: str, service: str, limit: int = 5, lookback_s: int = 300, min_ms: float = 0.0,
            timeout_s: float = 2.0) -> list[Slow]:
    """The ``limit`` slowest requests ``service`` served in the last ``lookback_s``, slowest first: the
    duration is that service's own span (the version's, not the gateway's)."""
    # start in microseconds since the epoch (query_parser.go parseTime); the API has no lookback of its own
    params: dict[str, Any] = {"service": service, "limit": 200, "start": int((time.time() - lookback_s) * 1e6)}
    if min_ms > 0:
        params["minDuration"] = f"{min_ms:g}ms"
    found: list[Slow] = []
    for t in _get(f"{base}/api/traces", params, timeout_s):
        own = [s.duration_us for s in _spans(t) if s.service == service]
        if own:
            found.append(Slow(t["traceID"], max(own) / 1000, api_url(base, t["traceID"])))
    return sorted(found, key=lambda s: -s.duration_ms)[:limit]
