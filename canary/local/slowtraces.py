"""What GET /traces and /traces/ID answer: each running version's slowest recent requests, and one trace's spans.

Read from Jaeger's query API by the version's sidecar span (canary.jaeger), the stack's Jaeger
and model from its status. A stack without Jaeger answers why, so the page can say tracing is off.
"""

import dataclasses
from typing import Any

from canary import jaeger
from canary.local.client import StackClient
from canary.local.envoy import cluster_name

LIMIT, LOOKBACK_S = 5, 300  # within what Jaeger keeps: tracing.MAX_TRACES is about 6.7 minutes at 50 rps


def slowest(stack: StackClient, limit: int = LIMIT, lookback_s: int = LOOKBACK_S) -> dict[str, Any]:
    """The stack's Jaeger (or why there is none), and each running version's ``limit`` slowest requests."""
    status = stack.status()
    base = status.get("traces")
    if not base:
        return {"jaeger": None, "off": status.get("tracing_off") or "tracing is off", "versions": {}}
    versions = sorted({p["version"] for p in status["processes"] if p.get("version")})
    found = {v: [dataclasses.asdict(s) for s in jaeger.slowest(base, cluster_name(v, status["model"]), limit,
                                                              lookback_s)] for v in versions}
    return {"jaeger": base, "off": None, "versions": found}


def one(stack: StackClient, trace_id: str) -> dict[str, Any] | None:
    """One trace's spans from the stack's Jaeger, oldest first; None when there is no Jaeger or it holds none."""
    base = stack.status().get("traces")
    spans = sorted(jaeger.trace(base, trace_id), key=lambda s: s.start_us) if base else []
    return {"jaeger": jaeger.api_url(str(base), trace_id), "trace_id": trace_id,
            "spans": [dataclasses.asdict(s) for s in spans]} if spans else None
