"""What the local Envoy must do, read from the VirtualService and DestinationRule as Argo wrote them.

Argo's Istio router (rollout/trafficrouting/istio/istio.go) writes weights on the routes the
Rollout names, puts its managed routes (setHeaderRoute, setMirrorRoute) first, and points the
DestinationRule's subsets at the revisions by ``rollouts-pod-template-hash``. This reads them
back into the stack's terms: the revision behind each subset, the canary's weight, the header
and mirror routes. What Envoy cannot do as written is a ValueError naming the route.
"""

from dataclasses import dataclass
from typing import Any

from canary.rollout.interfaces import HeaderRoute, MirrorRoute
from cluster.pods import HASH_LABEL


@dataclass(frozen=True)
class Routing:
    """The routing Argo asked for, in the stack's terms."""

    stable: str | None
    canary: str | None  # None while the canary subset is stable's revision
    canary_weight: int
    header_routes: tuple[HeaderRoute, ...] = ()
    mirror_routes: tuple[MirrorRoute, ...] = ()


def subsets(destination_rule: dict[str, Any]) -> dict[str, str | None]:
    """Subset name -> the revision its labels select."""
    return {s["name"]: s.get("labels", {}).get(HASH_LABEL) for s in destination_rule["spec"].get("subsets", [])}


def weight(route: dict[str, Any], subset: str) -> int:
    """The weight ``route`` gives ``subset`` (Argo leaves out a weight of 0; a lone destination takes all)."""
    destinations = route.get("route", [])
    if len(destinations) == 1:
        return 100 if destinations[0]["destination"].get("subset") == subset else 0
    total: int = sum(d.get("weight", 0) for d in destinations if d["destination"].get("subset") == subset)
    return total


def _header_route(route: dict[str, Any]) -> HeaderRoute:
    match: list[dict[str, Any]] = []
    for entry in route.get("match", []):
        if set(entry) - {"headers"}:
            raise ValueError(f"route {route['name']}: a header route matching on {sorted(set(entry) - {'headers'})}")
        match += [{"headerName": name, "headerValue": value} for name, value in entry["headers"].items()]
    return HeaderRoute.from_argo(route["name"], match)


def _mirror_route(route: dict[str, Any]) -> MirrorRoute:
    # Istio's HTTPMatchRequest says uri where Argo's step says path; a port match is the listener's,
    # and the local gateway has one.
    unknown = {k for m in route.get("match", []) for k in m} - {"method", "uri", "headers", "port"}
    if unknown:
        raise ValueError(f"route {route['name']}: a mirror route matching on {sorted(unknown)}")
    match = [{k: v for k, v in (("method", m.get("method")), ("path", m.get("uri")), ("headers", m.get("headers")))
              if v} for m in route.get("match", [])]
    return MirrorRoute.from_argo(route["name"], int(route.get("mirrorPercentage", {}).get("value", 100)), match)


def listed(istio: dict[str, Any]) -> list[dict[str, Any]]:
    """The Rollout's VirtualService references (trafficRouting.istio): ``virtualServices`` or its ``virtualService``."""
    refs: list[dict[str, Any]] = istio.get("virtualServices") or (
        [istio["virtualService"]] if "virtualService" in istio else [])
    return refs


def read(virtual_services: list[tuple[dict[str, Any], list[str]]], destination_rule: dict[str, Any],
         managed: list[str], canary_subset: str = "canary", stable_subset: str = "stable") -> Routing:
    """The Routing the objects say.

    Each VirtualService the Rollout names with its weighted routes, and the Rollout's managedRoutes (Argo
    writes them into each VirtualService; the first one's are read).
    """
    revisions = subsets(destination_rule)
    stable, canary = revisions.get(stable_subset), revisions.get(canary_subset)
    weights: dict[str, int] = {}
    written: dict[str, dict[str, Any]] = {}
    for vs, weighted in virtual_services:
        http = {r.get("name"): r for r in vs["spec"].get("http", [])}
        missing = [name for name in weighted if name not in http]
        if missing:
            raise ValueError(f"VirtualService {vs['metadata']['name']} has no route {', '.join(missing)}")
        weights |= {f"{vs['metadata']['name']}/{name}": weight(http[name], canary_subset) for name in weighted}
        written |= {name: http[name] for name in managed if name in http and name not in written}
    if len(set(weights.values())) > 1:
        raise ValueError(f"the Rollout's routes carry different canary weights {weights}: one gateway weight cannot")
    headers = tuple(_header_route(r) for r in written.values() if "mirror" not in r)
    mirrors = tuple(_mirror_route(r) for r in written.values() if "mirror" in r)
    return Routing(stable, canary if canary != stable else None, next(iter(weights.values()), 0), headers, mirrors)
