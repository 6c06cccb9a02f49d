"""The one Prometheus HTTP API client: instant queries, answered as Prometheus' ``data`` document.

The engine's prometheus provider (canary.rollout.prometheus) shapes the answer as Argo does;
the judge (canary.judge.source) reads raw samples and pins one replica of an HA pair. Both ask
through this client, so a timeout, a refused connection, a body that is not JSON and a failed
query are told apart the same way everywhere; each caller words them for its own users.
"""

from dataclasses import dataclass
from typing import Any

import httpx
import orjson  # Prometheus' answers hold thousands of samples per read: a faster parser than json


class Unreachable(Exception):
    """Prometheus did not answer (refused, timed out, reset): another replica may."""


class BadAnswer(Exception):
    """Prometheus answered, but not with a successful query result (its words are in the message)."""


@dataclass(frozen=True)
class Result:
    """An answer's ``data``: ``resultType`` (vector, matrix, scalar, string) and ``result``."""

    kind: str
    result: Any


class PrometheusClient:
    """``GET /api/v1/query`` over one pooled HTTP client."""

    def __init__(self, timeout_s: float = 5.0):
        self._client = httpx.Client(timeout=timeout_s)

    def query(self, base: str, promql: str, at: float | None = None) -> Result:
        """The instant query ``promql`` at ``base`` (Prometheus' URL), at time ``at`` or now."""
        params = {"query": promql, **({"time": f"{at:.3f}"} if at is not None else {})}
        try:
            response = self._client.get(f"{base.rstrip('/')}/api/v1/query", params=params)
        except httpx.TransportError as exc:
            raise Unreachable(type(exc).__name__) from None
        except httpx.HTTPError as exc:
            raise BadAnswer(type(exc).__name__) from None
        try:
            doc = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise BadAnswer(f"HTTP {response.status_code}, not JSON") from None
        if not isinstance(doc, dict) or doc.get("status") != "success":
            error = doc if not isinstance(doc, dict) else f"{doc.get('errorType')}: {doc.get('error')}"
            raise BadAnswer(f"the query failed: {error}")
        data = doc.get("data")
        if not isinstance(data, dict) or "resultType" not in data or "result" not in data:
            raise BadAnswer(f"an answer without a result: {data!r}"[:300])
        return Result(data["resultType"], data["result"])
