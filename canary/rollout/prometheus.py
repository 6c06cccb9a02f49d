"""Argo's prometheus metric provider: Prometheus' HTTP API (canary.promapi), results shaped as Argo shapes them."""

import math

from canary import promapi
from canary.rollout.interfaces import ProviderError


class PrometheusProvider:
    """A vector becomes a list of floats (``result[0]``), a scalar a float; every failure is a ProviderError."""

    def __init__(self, timeout_s: float = 5.0):
        self._client = promapi.PrometheusClient(timeout_s)

    def query(self, address: str, query: str) -> float | list[float]:
        """Run an instant query; a timeout, a protocol error or an odd answer is a ProviderError, never a crash."""
        try:
            answer = self._client.query(address, query)
        except promapi.Unreachable as exc:
            raise ProviderError(f"Prometheus at {address} did not answer: {exc}") from None
        except promapi.BadAnswer as exc:
            raise ProviderError(f"Prometheus at {address}: {exc}") from None
        try:
            return _shape(answer)
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise ProviderError(f"Prometheus at {address} answered an unexpected document ({exc!r})") from None


def _shape(answer: promapi.Result) -> float | list[float]:
    if answer.kind == "vector":
        return [_float(sample["value"][1]) for sample in answer.result]
    if answer.kind == "scalar":
        return _float(answer.result[1])
    raise ProviderError(f"Prometheus returned a {answer.kind}; the query must return a vector or a scalar")


def _float(text: str) -> float:
    return math.nan if text == "NaN" else float(text)
