"""The stack supervisor's API on localhost: status is open, changes need the token."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from canary.local import stack_status
from canary.local.managed import StackError
from canary.local.stack import Stack
from canary.rollout.interfaces import HeaderRoute, MirrorRoute
from canary.webapi import create_app, token_check


class HeaderMatch(BaseModel):
    """One entry of Argo's setHeaderRoute ``match``."""

    model_config = ConfigDict(extra="forbid")
    headerName: str = Field(min_length=1)
    headerValue: dict[str, str] = Field(min_length=1, max_length=1)


class HeaderRouteBody(BaseModel):
    """A header route: requests matching any entry go to the canary."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    match: list[HeaderMatch] = []

    def to_route(self) -> HeaderRoute:
        """The engine's HeaderRoute; ValueError for a match kind Envoy cannot do."""
        return HeaderRoute.from_argo(self.name, [m.model_dump() for m in self.match])


class MirrorMatch(BaseModel):
    """One entry of Argo's setMirrorRoute ``match``: every condition given must hold."""

    model_config = ConfigDict(extra="forbid")
    method: dict[str, str] | None = Field(None, min_length=1, max_length=1)
    path: dict[str, str] | None = Field(None, min_length=1, max_length=1)
    headers: dict[str, dict[str, str]] | None = None


class MirrorRouteBody(BaseModel):
    """A mirror route: a share of the matching requests is copied to the canary."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    percentage: int = Field(ge=0, le=100)
    match: list[MirrorMatch] = []

    def to_route(self) -> MirrorRoute:
        """The engine's MirrorRoute; ValueError for a match kind Envoy cannot do."""
        return MirrorRoute.from_argo(self.name, self.percentage, [m.model_dump(exclude_none=True) for m in self.match])


class RoutingBody(BaseModel):
    """The canary's weight, header routes and mirror routes."""

    model_config = ConfigDict(extra="forbid")
    canary_weight: int = Field(0, ge=0, le=100)
    header_routes: list[HeaderRouteBody] = []
    mirror_routes: list[MirrorRouteBody] = []


class CanaryBody(BaseModel):
    """A version to start as the canary, with FAULT_* variables for its runtime."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1)
    faults: dict[str, str] = {}


class VersionBody(BaseModel):
    """A version to retire."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1)


def _changer(stack: Stack, changes: ThreadPoolExecutor) -> Callable[..., dict[str, Any]]:
    """Run a change on the changes thread; 409 when the stack refuses it, 400 for a bad value."""

    def change(action: Callable[..., dict[str, Any] | None], *args: object) -> dict[str, Any]:
        try:
            result = changes.submit(action, *args).result()
        except StackError as exc:
            raise HTTPException(409, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(400, f"bad request: {exc}") from None
        return result if result is not None else stack_status.status(stack)

    return change


def create(stack: Stack, stop: threading.Event, changes: ThreadPoolExecutor) -> FastAPI:
    """The app. One long-lived thread makes every change: children die with the thread that
    started them (PR_SET_PDEATHSIG), and changes stay serial."""
    app = create_app("ml-canary stack")
    auth = Depends(token_check(stack.api_token, "it is in the run directory's stack.json"))
    change = _changer(stack, changes)

    @app.get("/status")
    def status() -> dict[str, Any]:
        return stack_status.status(stack)

    @app.post("/canary", dependencies=[auth])
    def add_canary(body: CanaryBody) -> dict[str, Any]:
        return change(lambda: stack.add_canary(body.version, body.faults) and None)

    @app.delete("/canary", dependencies=[auth])
    def remove_canary() -> dict[str, Any]:
        return change(stack.remove_canary)

    @app.post("/canary/promote", dependencies=[auth])
    def promote() -> dict[str, Any]:
        return change(stack.promote_canary)

    @app.post("/retire", dependencies=[auth])
    def retire(body: VersionBody) -> dict[str, Any]:
        return change(stack.retire, body.version)

    @app.post("/routing", dependencies=[auth])
    def routing(body: RoutingBody) -> dict[str, Any]:
        return change(lambda: stack.set_routing(body.canary_weight, [r.to_route() for r in body.header_routes],
                                                [m.to_route() for m in body.mirror_routes]))

    @app.post("/shutdown", dependencies=[auth])
    def shutdown() -> dict[str, Any]:
        stop.set()
        return {"stopping": True}

    return app

