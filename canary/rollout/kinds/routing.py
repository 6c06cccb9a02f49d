"""The steps that change where requests go: setWeight, setHeaderRoute, setMirrorRoute, setCanaryScale."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import TypeAdapter

from canary.rollout.kinds.base import Measured, Outcome, Parsing, Progress, Step
from canary.rollout.schema import WEIGHT, CanaryScaleBody, HeaderRouteBody, MirrorRouteBody, SpecError, validated
from canary.rollout.status import RolloutState

if TYPE_CHECKING:
    from canary.rollout.controller import Controller


_HEADER_ROUTE, _MIRROR_ROUTE = TypeAdapter(HeaderRouteBody), TypeAdapter(MirrorRouteBody)
_CANARY_SCALE = TypeAdapter(CanaryScaleBody)


def _routed(ctrl: "Controller", line: str, record: dict[str, Any]) -> Outcome:
    """The state's routes set on the router first (a call that fails leaves no event of a change not made), then
    the step said and done."""
    ctrl.apply_routing()
    ctrl.event(line)
    ctrl.advance(record)
    return Progress.DONE


def _managed(kind: str, name: str, ctx: Parsing) -> str:
    if name not in ctx.managed:
        raise SpecError(f"{ctx.where}: {kind}.name {name!r} is not in trafficRouting.managedRoutes")
    return name


@dataclass(frozen=True)
class SetWeight(Step):
    """Give the canary this share of traffic."""

    key: ClassVar[str] = "setWeight"
    weight: int

    @classmethod
    def parse(cls, body: Any, ctx: Parsing) -> "SetWeight":
        """A whole number from 0 to 100."""
        return cls(validated(WEIGHT, body, ctx.where, cls.key))

    def label(self) -> str:
        """'set weight 10'."""
        return f"set weight {self.weight}"

    def gives_traffic(self, state: RolloutState) -> bool:
        """A weight above the canary's present one."""
        return self.weight > state.weight

    def execute(self, ctrl: "Controller", now: float, n: str, pending: Measured | None) -> Outcome:
        """The weight set on the router, then the step done."""
        s = ctrl.state
        s.weight = self.weight
        return _routed(ctrl, f"{n}: set weight {self.weight} ({s.stable} {100 - self.weight}%, {s.target} "
                             f"{self.weight}%)", {"kind": self.key, "weight": self.weight})


@dataclass(frozen=True)
class SetHeaderRoute(Step):
    """Route requests matching headers to the canary (or remove the route)."""

    key: ClassVar[str] = "setHeaderRoute"
    name: str
    match: tuple[dict[str, Any], ...] = ()  # empty: remove the route

    @classmethod
    def parse(cls, body: Any, ctx: Parsing) -> "SetHeaderRoute":
        """A managed route's name and header matches of one kind each."""
        doc = validated(_HEADER_ROUTE, body, ctx.where, cls.key)
        return cls(_managed(cls.key, doc.name, ctx), tuple(m.model_dump(exclude_none=True) for m in doc.match))

    def label(self) -> str:
        """'header route canary' or '... removed'."""
        return f"header route {self.name}" + ("" if self.match else " removed")

    def execute(self, ctrl: "Controller", now: float, n: str, pending: Measured | None) -> Outcome:
        """The route set (or removed) on the router, then the step done."""
        s = ctrl.state
        if not self.match:
            s.header_routes.pop(self.name, None)
            return _routed(ctrl, f"{n}: header route {self.name} removed", {"kind": self.key, "name": self.name})
        s.header_routes[self.name] = list(self.match)
        rule = " or ".join(f"{m['headerName']} {kind} {value}"
                           for m in self.match for kind, value in m["headerValue"].items())
        return _routed(ctrl, f"{n}: header route {self.name}: {rule} -> {s.target}",
                       {"kind": self.key, "name": self.name})


@dataclass(frozen=True)
class SetMirrorRoute(Step):
    """Copy a share of the matching requests to the canary, answered as usual (or remove the route)."""

    key: ClassVar[str] = "setMirrorRoute"
    name: str
    percentage: int = 100  # Argo's default (rollout/trafficrouting/istio/istio.go, createMirrorRoute)
    match: tuple[dict[str, Any], ...] = ()  # empty: remove the route

    @classmethod
    def parse(cls, body: Any, ctx: Parsing) -> "SetMirrorRoute":
        """A managed route's name, a percentage from 0 to 100 and matches the router can express."""
        doc = validated(_MIRROR_ROUTE, body, ctx.where, cls.key)
        match = tuple(m.model_dump(exclude_none=True) for m in doc.match)
        return cls(_managed(cls.key, doc.name, ctx), doc.percentage, match)

    def label(self) -> str:
        """'mirror route shadow (100% copied)' or '... removed'."""
        return f"mirror route {self.name}" + (f" ({self.percentage}% copied)" if self.match else " removed")

    def execute(self, ctrl: "Controller", now: float, n: str, pending: Measured | None) -> Outcome:
        """The route set (or removed) on the router, then the step done."""
        s = ctrl.state
        if not self.match:
            s.mirror_routes.pop(self.name, None)
            return _routed(ctrl, f"{n}: mirror route {self.name} removed", {"kind": self.key, "name": self.name})
        s.mirror_routes[self.name] = {"percentage": self.percentage, "match": list(self.match)}
        return _routed(ctrl, f"{n}: mirror route {self.name}: {self.percentage}% of matching requests copied to "
                             f"{s.target}", {"kind": self.key, "name": self.name})


@dataclass(frozen=True)
class SetCanaryScale(Step):
    """How many canary pods, apart from the weight (a mirror phase needs one before any weight)."""

    key: ClassVar[str] = "setCanaryScale"
    scale: str  # "replicas 1", "weight 10" or "matchTrafficWeight": the local canary is one process either way

    @classmethod
    def parse(cls, body: Any, ctx: Parsing) -> "SetCanaryScale":
        """utils/replicaset/canary.go GetCanaryReplicasOrWeight: replicas, then weight, then matchTrafficWeight."""
        doc = validated(_CANARY_SCALE, body or {}, ctx.where, cls.key)
        given = [f"{k} {v}" for k, v in (("replicas", doc.replicas), ("weight", doc.weight)) if v is not None]
        return cls(given[0] if given else "matchTrafficWeight")

    def label(self) -> str:
        """'canary scale replicas 1'."""
        return f"canary scale {self.scale}"

    def execute(self, ctrl: "Controller", now: float, n: str, pending: Measured | None) -> Outcome:
        """Said and recorded: the local canary is one process from the rollout's start."""
        ctrl.event(f"{n}: canary scale {self.scale} (one process here)")
        ctrl.advance({"kind": self.key, "scale": self.scale})
        return Progress.DONE
