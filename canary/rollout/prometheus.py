"""Argo's prometheus metric provider: Prometheus' HTTP API, with results shaped as Argo shapes them."""

import math
from typing import Any

import httpx

from canary.rollout.interfaces import ProviderError


class PrometheusProvider:
    """A vector becomes a list of floats (``result[0]``), a scalar a float; every failure is a ProviderError."""

    def __init__(self, timeout_s: float = 5.0):
        self._client = httpx.Client(timeout=timeout_s)

    def query(self, address: str, query: str) -> float | list[float]:
        """Run an instant query; a timeout, a protocol error or an odd answer is a ProviderError, never a crash."""
        try:
            response = self._client.get(f"{address.rstrip('/')}/api/v1/query", params={"query": query})
        except httpx.HTTPError as exc:
            raise ProviderError(f"Prometheus at {address} did not answer: {type(exc).__name__}") from None
        try:
            doc = response.json()
        except ValueError:
            raise ProviderError(f"Prometheus at {address} answered HTTP {response.status_code}, not JSON") from None
        try:
            return _shape(doc)
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise ProviderError(f"Prometheus at {address} answered an unexpected document ({exc!r})") from None


def _shape(doc: dict[str, Any]) -> float | list[float]:
    if doc.get("status") != "success":
        raise ProviderError(f"Prometheus query failed: {doc.get('errorType')}: {doc.get('error')}")
    data = doc["data"]
    if data["resultType"] == "vector":
        return [_float(sample["value"][1]) for sample in data["result"]]
    if data["resultType"] == "scalar":
        return _float(data["result"][1])
    raise ProviderError(f"Prometheus returned a {data['resultType']}; the query must return a vector or a scalar")


def _float(text: str) -> float:
    return math.nan if text == "NaN" else float(text)
