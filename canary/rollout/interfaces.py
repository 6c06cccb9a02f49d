"""What the rollout engine needs from a platform, as typed interfaces (Flagger's router and observer).

On a cluster Argo Rollouts is the engine and Istio, the ReplicaSets and Prometheus
are these; on one machine ``canary.local`` implements them over its stack.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

MATCH_KINDS = ("exact", "prefix", "regex")


@dataclass(frozen=True)
class HeaderRoute:
    """Argo's setHeaderRoute: requests matching any entry go to the canary."""

    name: str
    matches: tuple[tuple[str, str, str], ...]  # (header name, exact|prefix|regex, value)

    @classmethod
    def from_argo(cls, name: str, match: list[dict[str, Any]]) -> "HeaderRoute":
        """From a step's ``match`` list: ``[{headerName: x-canary, headerValue: {exact: always}}]``."""
        entries = []
        for m in match:
            (kind, value), = m["headerValue"].items()
            if kind not in MATCH_KINDS:
                raise ValueError(f"header route {name}: headerValue {kind} is not one of {', '.join(MATCH_KINDS)}")
            entries.append((m["headerName"], kind, value))
        return cls(name, tuple(entries))


@dataclass(frozen=True)
class MirrorRoute:
    """Argo's setMirrorRoute: matching requests are answered as usual, and a share is copied to the canary.

    ``matches`` are alternatives; each is a tuple of conditions that must all hold:
    (``method``, kind, value), (``path``, kind, value) or (``header:NAME``, kind, value).
    No matches: every request.
    """

    name: str
    percentage: int
    matches: tuple[tuple[tuple[str, str, str], ...], ...] = ()

    @classmethod
    def from_argo(cls, name: str, percentage: int, match: list[dict[str, Any]]) -> "MirrorRoute":
        """From a step's ``match``: ``[{method: {exact: POST}, path: {prefix: /v2}, headers: {x: {exact: y}}}]``."""
        if not 0 <= percentage <= 100:
            raise ValueError(f"mirror route {name}: percentage {percentage} is outside 0..100")
        entries = []
        for m in match:
            conditions = [(what, *_one(name, m[what])) for what in ("method", "path") if m.get(what)]
            conditions += [(f"header:{header}", *_one(name, value)) for header, value in (m.get("headers") or {}).items()]
            entries.append(tuple(conditions))
        return cls(name, percentage, tuple(entries))


def _one(route: str, value: dict[str, str]) -> tuple[str, str]:
    (kind, text), = value.items()
    if kind not in MATCH_KINDS:
        raise ValueError(f"route {route}: {kind} is not one of {', '.join(MATCH_KINDS)}")
    return kind, text


@dataclass(frozen=True)
class Observed:
    """The platform as it is, read back: what serves, what runs, and the routes the gateway has loaded."""

    stable: str
    canary: str | None
    running: frozenset[str]  # versions whose runtime is up (a process alive, a ReplicaSet with pods)
    weights: tuple[tuple[str, int], ...] | None = None  # the primary route's split, (version, weight) sorted, no 0s;
    # None: the gateway did not say (it is down or starting)
    header_routes: frozenset[str] = frozenset()
    mirror_routes: frozenset[str] = frozenset()


class ProviderError(Exception):
    """The metric provider could not answer (Prometheus down, bad query, a judge's error status)."""


class TrafficRouter(Protocol):
    """Splits traffic between the stable and the canary revision (Istio's VirtualService, or Envoy)."""

    def set_routing(self, canary_weight: int, header_routes: list[HeaderRoute],
                    mirror_routes: Sequence[MirrorRoute] = ()) -> None:
        """Give the canary this share of traffic (0..100), the requests the header routes match, and
        copies of the requests the mirror routes match."""


class Deployer(Protocol):
    """Runs revisions (the Rollout's ReplicaSets, or local runtime processes)."""

    def stable_revision(self) -> str:
        """The version that serves when no rollout is under way."""

    def revisions(self) -> dict[str, str | None]:
        """``{"stable": hash, "canary": hash}``: what Argo's podTemplateHashValue Stable and Latest read."""

    def add_canary(self, revision: str, faults: dict[str, str]) -> None:
        """Start the canary revision, with no traffic yet; ``faults`` are FAULT_* variables."""

    def canary_ready(self) -> bool:
        """Whether the canary answers its readiness probe (Argo: its ReplicaSet's available replicas)."""

    def remove_canary(self) -> None:
        """Take the canary's traffic away, then stop it."""

    def promote_canary(self) -> None:
        """The canary becomes stable with all traffic; the old stable keeps running until retired."""

    def retire(self, revision: str) -> None:
        """Stop a revision that no longer serves."""


class Observer(Protocol):
    """Reads the platform back, so the controller acts on what is there, not on what it asked for."""

    def observe(self) -> Observed:
        """The revisions running and the routes in force; raises when the platform does not answer."""


class MetricsProvider(Protocol):
    """Runs one analysis query (Argo's metric provider)."""

    def query(self, address: str, query: str) -> float | list[float]:
        """The result as Argo shapes it; raises ProviderError when the provider cannot answer."""
