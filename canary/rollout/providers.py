"""Metric providers in one registry: a new provider is one source class and one entry in ``SOURCES``.

A metric's ``provider`` field names one provider (Argo's ``provider.prometheus``,
``provider.web``, ...). Its source parses that field, has its args substituted, measures
through the platform's clients, and names its type for ``analysis_run_metric_phase``.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from canary.rollout.interfaces import MetricsProvider
from canary.rollout.web import WebCall, WebProvider, call_from_argo

Substitute = Callable[[str], str]


@dataclass(frozen=True)
class Clients:
    """What sources measure through: the platform's Prometheus, and plain HTTP for the web provider."""

    prometheus: MetricsProvider
    web: WebProvider = field(default_factory=WebProvider)


class MetricSource(Protocol):
    """One metric's provider, as written in its AnalysisTemplate."""

    kind: ClassVar[str]  # Argo's metric type label: Prometheus, Web

    def substituted(self, sub: Substitute) -> "MetricSource":
        """The source with every ``{{args.x}}`` in its text fields replaced by ``sub``."""
        ...

    def measure(self, clients: Clients) -> tuple[object, dict[str, Any] | None]:
        """The value conditions are evaluated on, and the whole answer when it is a JSON object."""
        ...


@dataclass(frozen=True)
class PrometheusQuery:
    """Argo's ``provider.prometheus``: an instant query at an address."""

    kind: ClassVar[str] = "Prometheus"
    address: str = ""
    query: str = ""

    @classmethod
    def from_argo(cls, raw: dict[str, Any]) -> "PrometheusQuery":
        """From ``{address, query}``; ValueError when the query is missing."""
        if not raw.get("query"):
            raise ValueError("query is missing")
        return cls(raw.get("address", ""), raw["query"])

    def substituted(self, sub: Substitute) -> "PrometheusQuery":
        """Address and query with their args replaced."""
        return PrometheusQuery(sub(self.address), sub(self.query))

    def measure(self, clients: Clients) -> tuple[object, dict[str, Any] | None]:
        """The query's result as Argo shapes it (a list for a vector, a float for a scalar)."""
        return clients.prometheus.query(self.address, self.query), None


@dataclass(frozen=True)
class WebSource:
    """Argo's ``provider.web``: an HTTP call and a JSONPath into its answer (canary.rollout.web)."""

    kind: ClassVar[str] = "Web"
    call: WebCall

    @classmethod
    def from_argo(cls, raw: dict[str, Any]) -> "WebSource":
        """From ``{url, method, headers, body|jsonBody, jsonPath, timeoutSeconds}``."""
        return cls(call_from_argo(raw))

    def substituted(self, sub: Substitute) -> "WebSource":
        """URL, header values and body with their args replaced."""
        c = self.call
        return WebSource(dataclasses.replace(c, url=sub(c.url), headers=tuple((k, sub(v)) for k, v in c.headers),
                                             body=None if c.body is None else sub(c.body)))

    def measure(self, clients: Clients) -> tuple[object, dict[str, Any] | None]:
        """The first JSONPath match, and the document (a judge's ``summary`` says why)."""
        return clients.web.call(self.call)


SOURCES: dict[str, Callable[[dict[str, Any]], MetricSource]] = {
    "prometheus": PrometheusQuery.from_argo,
    "web": WebSource.from_argo,
}
