"""The controller's control API and dashboard: reads are open on localhost, every change needs the token
(or a dashboard session with its CSRF token) and is audited with who made it."""

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, cast

import httpx
from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi import Path as PathParam
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict, Field

from canary import jaeger
from canary.dashboard import pages, proxy
from canary.dashboard.sessions import Sessions, control_user
from canary.local import slowtraces
from canary.local.client import ApiError, NotRunning, StackClient
from canary.rollout import spec
from canary.rollout.controller import ControlError, Controller
from canary.rollout.view import view
from canary.webapi import create_app, serve_metrics, token_check
from servers.admin import FAULTS_PATH
from servers.faults import FaultUpdate


class RolloutBody(BaseModel):
    """Start a rollout to ``version``, optionally with faults in its runtime."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1)
    faults: FaultUpdate = FaultUpdate()


class PromoteBody(BaseModel):
    """Skip the current step, or every remaining one."""

    model_config = ConfigDict(extra="forbid")
    full: bool = False


class FaultBody(FaultUpdate):
    """Flip a running version's fault switch."""

    version: str = Field(min_length=1)


HINT = "'canary' reads it from the run directory's controller.json"
T = TypeVar("T")


class _Control(Protocol):
    """Runs a control for an endpoint (_auditor): its answer, or view(ctrl) when it returns none."""

    def __call__(self, action: str, detail: dict[str, Any], who: str, call: Callable[[], object],
                 locked: bool = True) -> dict[str, Any]:
        """The control's answer, audited."""


def create(ctrl: Controller, token: str, stack: StackClient, prometheus_url: str, judge_url: str,
           registry: CollectorRegistry | None = None) -> FastAPI:
    """The app: GET /rollout, /events, /audit, /runtimes, /metrics; POST the controls; the dashboard on /."""
    app = create_app("ml-canary controller")
    serve_metrics(app, registry or CollectorRegistry())
    sessions, bearer = Sessions(token, ctrl.store.path), token_check(token, HINT)
    user = Depends(control_user(sessions, bearer, HINT))
    app.include_router(pages.router(sessions, bearer))
    app.include_router(proxy.router(prometheus_url, judge_url))
    runtimes = Recent(2.0, lambda: _runtimes(stack))
    _reads(app, ctrl, runtimes)
    _trace_reads(app, stack, Recent(5.0, lambda: slowtraces.slowest(stack)))
    control = _auditor(ctrl)

    @app.post("/rollout")
    def start(body: RolloutBody, who: str = user) -> dict[str, Any]:
        return control("rollout", body.model_dump(exclude_none=True), who,
                       lambda: ctrl.start(body.version, body.faults.to_env()), locked=False)

    @app.post("/promote")
    def promote(body: PromoteBody = PromoteBody(), who: str = user) -> dict[str, Any]:
        return control("promote", body.model_dump(), who, lambda: ctrl.promote(body.full))

    for name, method in (("pause", ctrl.pause), ("resume", ctrl.resume), ("retry", ctrl.retry),
                         ("abort", lambda: ctrl.abort("aborted by request"))):
        _simple(app, user, control, name, method, locked=name != "retry")

    @app.post("/fault")
    def fault(body: FaultBody, who: str = user) -> dict[str, Any]:
        detail = body.model_dump(exclude_none=True)
        try:
            return control("fault", detail, who, lambda: _fault(stack, body), locked=False)
        finally:
            runtimes.forget()  # the next read shows the new switch

    return app


class Recent(Generic[T]):
    """A value recomputed at most every ``ttl_s``: pages polling /runtimes together cost one round of calls."""

    def __init__(self, ttl_s: float, compute: Callable[[], T]) -> None:
        self._ttl, self._compute, self._lock = ttl_s, compute, threading.Lock()
        self._value: T | None = None
        self._at = -float("inf")

    def get(self) -> T:
        """The value, computed anew when older than the TTL."""
        with self._lock:
            if time.monotonic() - self._at > self._ttl:
                self._value, self._at = self._compute(), time.monotonic()
            return cast(T, self._value)  # computed on the first get: _at starts (and forget resets it) at -inf

    def forget(self) -> None:
        """Compute anew on the next get."""
        with self._lock:
            self._at = -float("inf")


def _reads(app: FastAPI, ctrl: Controller, runtimes: Recent[list[dict[str, Any]]]) -> None:
    """The open reads: the rollout, its events, the audit log, the running runtimes."""

    @app.get("/rollout")
    def rollout(events: int = Query(20, ge=0, le=1000)) -> dict[str, Any]:
        return view(ctrl, events)

    @app.get("/events")
    def events(after: int = Query(0, ge=0, le=2**63 - 1)) -> list[dict[str, Any]]:  # SQLite's integers
        return ctrl.store.events(after_id=after)

    @app.get("/audit")
    def audit(limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        return ctrl.store.audit_log(limit)

    @app.get("/runtimes")
    def running() -> list[dict[str, Any]]:
        try:
            return runtimes.get()
        except (ApiError, NotRunning) as exc:
            raise HTTPException(502, str(exc)) from None


def _trace_reads(app: FastAPI, stack: StackClient, slowest: Recent[dict[str, Any]]) -> None:
    """The open reads of traces: each version's slowest requests, one trace's spans (canary.local.slowtraces)."""

    @app.get("/traces")
    def slow_requests() -> dict[str, Any]:
        """Each running version's slowest requests of the last 5 minutes (canary.local.slowtraces)."""
        try:
            return slowest.get()
        except (ApiError, NotRunning, jaeger.Unavailable) as exc:
            raise HTTPException(502, str(exc)) from None

    @app.get("/traces/{trace_id}")
    def one_trace(trace_id: str = PathParam(pattern=jaeger.TRACE_ID)) -> dict[str, Any]:
        """One trace's spans from the stack's Jaeger, for the dashboard's /trace/ID page."""
        try:
            found = slowtraces.one(stack, trace_id)
        except (ApiError, NotRunning, jaeger.Unavailable) as exc:
            raise HTTPException(502, str(exc)) from None
        if found is None:
            raise HTTPException(404, f"Jaeger holds no trace {trace_id} (it keeps the last few minutes), or "
                                     "tracing is off ('canary status' says)")
        return found


def _auditor(ctrl: Controller) -> _Control:
    """Run a control, map its errors to statuses, and audit it with the state before and after."""

    def control(action: str, detail: dict[str, Any], who: str, call: Callable[[], object],
                locked: bool = True) -> dict[str, Any]:
        try:
            # Before, change and after are one step for the audit log. A fault flip changes no controller
            # state and may wait on a runtime, and a rollout's start (or retry) waits for its canary while
            # holding the lock only to decide (canary.rollout.launch): neither holds it throughout.
            with ctrl.lock if locked else contextlib.nullcontext():
                before = ctrl.summary()
                result = call()
                after = ctrl.summary()
        except (ValueError, spec.SpecError) as exc:
            raise HTTPException(400, str(exc)) from None
        except ControlError as exc:
            raise HTTPException(409, str(exc)) from None
        except (ApiError, NotRunning) as exc:
            raise HTTPException(502, str(exc)) from None
        ctrl.store.audit(who, action, detail, before, after)
        return result if isinstance(result, dict) else view(ctrl, 5)

    return control


def _simple(app: FastAPI, user: Any, control: _Control, name: str, method: Callable[[], object],
            locked: bool) -> None:
    """A control with no body: pause, resume, retry, abort."""
    # ``user`` is FastAPI's Depends marker: Depends() is typed Any, so that it can default a ``str`` parameter.

    @app.post(f"/{name}", name=name)
    def handler(who: str = user) -> dict[str, Any]:
        return control(name, {}, who, method, locked)


def _runtimes(stack: StackClient) -> list[dict[str, Any]]:
    """Each running version with its live fault switch (a runtime's admin GET is open; None when it does not answer)."""
    out: list[dict[str, Any]] = []
    with httpx.Client(timeout=2) as admin:
        for p in _running(stack):
            try:
                answer = admin.get(f"{p['admin_url']}{FAULTS_PATH}")
                faults = answer.json() if answer.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                faults = None
            out.append({**{k: p[k] for k in ("version", "revision", "state", "healthy")}, "faults": faults})
    return out


def _running(stack: StackClient) -> list[dict[str, Any]]:
    """The stack's processes that serve a version (its runtimes)."""
    return [p for p in stack.status()["processes"] if p["version"]]


def _fault(stack: StackClient, body: FaultBody) -> dict[str, Any]:
    """Flip a running runtime's fault switch, through its admin endpoint."""
    running = _running(stack)
    runtime = next((p for p in running if p["version"] == body.version), None)
    if runtime is None:
        raise ControlError(f"no runtime serves {body.version}; running: {[p['version'] for p in running]}")
    change = body.model_dump(exclude={"version"}, exclude_none=True)
    try:
        response = httpx.post(f"{runtime['admin_url']}{FAULTS_PATH}", json=change, timeout=10,
                              headers={"Authorization": f"Bearer {stack.state['fault_token']}"})
    except httpx.HTTPError as exc:
        raise ApiError(f"runtime {body.version} did not answer: {type(exc).__name__}") from None
    if response.status_code >= 400:
        raise ValueError(f"runtime {body.version} refused the change: {response.text}")
    state: dict[str, Any] = response.json()  # the runtime's fault state
    return state
