"""Jaeger's query API (``/api/traces``, the one its UI reads): one trace, and a version's slowest recent requests.

A version is found by the span its runtime's sidecar writes (service ``MODEL-VERSION``,
canary.local.tracing and k8s/components/tracing): the place its requests are timed, as the
judge's latency test times them. A Jaeger that does not answer raises ``Unavailable``: its
callers say so (a 502, a line) rather than show "no trace".
"""

import time
from dataclasses import dataclass
from typing import Any

import httpx

from canary import pooled

TRACE_ID = "^[0-9a-f]{32}$"
"""A W3C trace id as Jaeger answers it: 32 lower-case hex digits."""
# Jaeger's search returns the newest matching traces up to its limit (memory storage: tenant.go findTraceAndIds
# walks its ring newest first): the slowest are found by asking for traces over a bound, lowered until enough match.
BOUNDS_MS = (30_000.0, 10_000.0, 3_000.0, 1_000.0, 300.0, 100.0, 30.0, 10.0, 3.0, 1.0, 0.0)
PAGE = 50


class Unavailable(Exception):
    """Jaeger did not answer, or not with traces."""


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


@dataclass(frozen=True)
class Slow:
    """One slow request: its trace, how long the version's span took, and Jaeger's API address of the trace."""

    trace_id: str
    duration_ms: float
    url: str


def _get(url: str, params: dict[str, Any] | None, timeout_s: float) -> list[dict[str, Any]]:
    try:
        response = pooled.client().get(url, params=params, timeout=timeout_s)
        if response.status_code == 404:  # a trace it does not hold
            return []
        response.raise_for_status()
        return list(response.json().get("data") or [])
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        raise Unavailable(f"Jaeger at {url.split('/api/')[0]} did not answer: {type(exc).__name__}") from None


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
    """Every span Jaeger holds of one trace (none when it holds none)."""
    found = _get(api_url(base, trace_id), None, timeout_s)
    return _spans(found[0]) if found else []


def _over(base: str, service: str, start_us: int, min_ms: float, timeout_s: float) -> list[Slow]:
    """Up to PAGE of the newest traces whose ``service`` span took at least ``min_ms``, with that span's time."""
    params: dict[str, Any] = {"service": service, "limit": PAGE, "start": start_us}  # query_parser.go: microseconds
    if min_ms > 0:
        params["minDuration"] = f"{round(min_ms * 1000)}us"  # Go's ParseDuration takes no exponent
    found = []
    for t in _get(f"{base}/api/traces", params, timeout_s):
        if own := [s.duration_us for s in _spans(t) if s.service == service]:
            found.append(Slow(t["traceID"], max(own) / 1000, api_url(base, t["traceID"])))
    return found


def slowest(base: str, service: str, limit: int = 5, lookback_s: int = 300, min_ms: float = 0.0,
            timeout_s: float = 2.0) -> list[Slow]:
    """The ``limit`` slowest requests ``service`` served in the last ``lookback_s`` (at least ``min_ms``), slowest
    first, by that service's own span (the version's, not the gateway's).

    Exact unless more than PAGE requests fall between two bounds: then the slowest of that band's newest PAGE.
    """
    start_us, kept = int((time.time() - lookback_s) * 1e6), {}
    for bound in [b for b in BOUNDS_MS if b > min_ms] + [min_ms]:
        # every trace over the previous bound came back (fewer than ``limit``): keep them, add this band's
        kept.update({s.trace_id: s for s in _over(base, service, start_us, bound, timeout_s)})
        if len(kept) >= limit:
            break
    return sorted(kept.values(), key=lambda s: -s.duration_ms)[:limit]
