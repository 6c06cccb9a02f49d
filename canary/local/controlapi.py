"""The controller's control API: reads are open on localhost, every change needs the token and is audited."""

import contextlib

import httpx
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from canary.local.client import ApiError, NotRunning, StackClient
from canary.webapi import create_app, token_check
from canary.rollout import spec
from canary.rollout.controller import ControlError, Controller
from canary.rollout.view import view
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


def create(ctrl: Controller, token: str, stack: StackClient) -> FastAPI:
    """The app: GET /rollout, /events, /audit; POST the controls."""
    app = create_app("ml-canary controller")
    auth = Depends(token_check(token, "'canary' reads it from the run directory's controller.json"))
    _reads(app, ctrl)
    control = _auditor(ctrl)

    @app.post("/rollout", dependencies=[auth])
    def start(body: RolloutBody, x_canary_user: str = Header("unknown")) -> dict:
        return control("rollout", body.model_dump(exclude_none=True), x_canary_user,
                       lambda: ctrl.start(body.version, body.faults.to_env()))

    @app.post("/promote", dependencies=[auth])
    def promote(body: PromoteBody = PromoteBody(), x_canary_user: str = Header("unknown")) -> dict:
        return control("promote", body.model_dump(), x_canary_user, lambda: ctrl.promote(body.full))

    for name, method in (("pause", ctrl.pause), ("resume", ctrl.resume), ("retry", ctrl.retry),
                         ("abort", lambda: ctrl.abort("aborted by request"))):
        _simple(app, auth, control, name, method)

    @app.post("/fault", dependencies=[auth])
    def fault(body: FaultBody, x_canary_user: str = Header("unknown")) -> dict:
        detail = body.model_dump(exclude_none=True)
        return control("fault", detail, x_canary_user, lambda: _fault(stack, body), locked=False)

    return app


def _reads(app: FastAPI, ctrl: Controller) -> None:
    """The open reads: the rollout, its events, the audit log."""

    @app.get("/rollout")
    def rollout(events: int = 20) -> dict:
        return view(ctrl, events)

    @app.get("/events")
    def events(after: int = 0) -> list:
        return ctrl.store.events(after_id=after)

    @app.get("/audit")
    def audit() -> list:
        return ctrl.store.audit_log()


def _auditor(ctrl: Controller):
    """Run a control, map its errors to statuses, and audit it with the state before and after."""

    def control(action: str, detail: dict, who: str, call, locked: bool = True) -> dict:
        try:
            # Before, change and after are one step for the audit log; a fault flip changes no
            # controller state and may wait on a runtime, so it does not hold the lock.
            with ctrl.lock if locked else contextlib.nullcontext():
                before = ctrl.state.summary()
                result = call()
                after = ctrl.state.summary()
        except (ValueError, spec.SpecError) as exc:
            raise HTTPException(400, str(exc)) from None
        except ControlError as exc:
            raise HTTPException(409, str(exc)) from None
        except (ApiError, NotRunning) as exc:
            raise HTTPException(502, str(exc)) from None
        ctrl.store.audit(who, action, detail, before, after)
        return result if isinstance(result, dict) else view(ctrl, 5)

    return control


def _simple(app: FastAPI, auth, control, name: str, method) -> None:
    """A control with no body: pause, resume, retry, abort."""

    @app.post(f"/{name}", dependencies=[auth], name=name)
    def handler(x_canary_user: str = Header("unknown")) -> dict:
        return control(name, {}, x_canary_user, method)


def _fault(stack: StackClient, body: FaultBody) -> dict:
    """Flip a running runtime's fault switch, through its admin endpoint."""
    running = [p for p in stack.status()["processes"] if p["version"]]
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
    return response.json()
