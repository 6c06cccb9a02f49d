"""The engine's interfaces implemented over the local stack's API: Envoy routes and runtime processes."""

from collections.abc import Sequence
from typing import Any

from canary.local.client import StackClient
from canary.rollout.interfaces import HeaderRoute, MirrorRoute, Observed


class StackPlatform:
    """TrafficRouter, Deployer and Observer for the one-machine stack (Envoy's route file, runtime processes)."""

    def __init__(self, client: StackClient):
        self.client = client

    def set_routing(self, canary_weight: int, header_routes: list[HeaderRoute],
                    mirror_routes: Sequence[MirrorRoute] = ()) -> None:
        """Rewrite Envoy's routes: the weighted primary route, header routes and mirror routes."""
        routes = [{"name": r.name, "match": [{"headerName": header, "headerValue": {kind: value}}
                                             for header, kind, value in r.matches]} for r in header_routes]
        self.client.set_routing(canary_weight, routes, [_mirror_json(m) for m in mirror_routes])

    def stable_revision(self) -> str:
        """The version the stack serves by default."""
        stable: str = self.client.status()["stable"]
        return stable

    def revisions(self) -> dict[str, str | None]:
        """The running runtimes' template hashes (canary.local.runtimes.revision)."""
        status = self.client.status()
        return {"stable": status["stable_revision"], "canary": status["canary_revision"]}

    def add_canary(self, revision: str, faults: dict[str, str]) -> None:
        """Start a runtime process for the canary."""
        self.client.add_canary(revision, faults)

    def canary_ready(self) -> bool:
        """Whether the canary's runtime process answers its readiness URL."""
        return any(p["role"] == "canary" and p["healthy"] for p in self.client.status()["processes"])

    def remove_canary(self) -> None:
        """Drain and stop the canary's runtime."""
        self.client.remove_canary()

    def promote_canary(self) -> None:
        """The canary's runtime takes all traffic."""
        self.client.promote_canary()

    def retire(self, revision: str) -> None:
        """Stop an old runtime."""
        self.client.retire(revision)

    def observe(self) -> Observed:
        """The stack read back: runtimes alive with their sidecars, and the routes Envoy has loaded."""
        status = self.client.status()
        alive = {p["name"] for p in status["processes"] if p["state"] == "running"}
        running = frozenset(p["version"] for p in status["processes"]
                            if p["version"] and p["name"] in alive and f"sidecar-{p['version']}" in alive)
        routes = status.get("gateway_routes")
        if routes is None:  # Envoy down or starting: the routes are unknown, not empty
            return Observed(status["stable"], status["canary"], running)
        return Observed(status["stable"], status["canary"], running, tuple(sorted(routes["weights"].items())),
                        frozenset(routes["header_routes"]), frozenset(routes["mirror_routes"]))


def _mirror_json(route: MirrorRoute) -> dict[str, Any]:
    """A MirrorRoute as Argo writes it: ``{name, percentage, match: [{method, path, headers}]}``."""
    match: list[dict[str, Any]] = []
    for conditions in route.matches:
        entry: dict[str, Any] = {}
        for what, kind, value in conditions:
            if what.startswith("header:"):
                entry.setdefault("headers", {})[what.removeprefix("header:")] = {kind: value}
            else:
                entry[what] = {kind: value}
        match.append(entry)
    return {"name": route.name, "percentage": route.percentage, "match": match}
