"""The page, its scripts and plotly.js (from the plotly wheel), and the login routes."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import plotly
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from canary.dashboard.sessions import Sessions

STATIC = Path(__file__).with_name("static")
# The wheel's own copy of plotly.js: installed by pip with the stack, served from here, so the
# page needs neither a CDN nor a file copied into the repository.
PLOTLY_JS = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
FILES = {"dashboard.js": "text/javascript", "charts.js": "text/javascript", "controls.js": "text/javascript",
         "trace.js": "text/javascript", "dashboard.css": "text/css"}


class Login(BaseModel):
    """The login form: the control token, and a name for the audit log."""

    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1)
    user: str = Field("dashboard", min_length=1, max_length=64, pattern=r"^[\w.@ -]+$")


def _logged_in(sessions: Sessions, user: str, answer: Callable[[str], Response]) -> Response:
    """``answer(csrf)`` with a new session's cookie: the CSRF token leaves the server only here."""
    sid, csrf = sessions.open(user)
    response = answer(csrf)
    response.set_cookie(sessions.cookie, sid, httponly=True, samesite="strict", path="/", max_age=int(sessions.ttl_s))
    return response


def router(sessions: Sessions, bearer: Callable[..., None]) -> APIRouter:
    """GET /, /trace/ID and /static/*; GET /session; POST /login, /logout, /login-codes; GET /login?code=."""
    api = APIRouter()
    _files(api)
    _login(api, sessions, bearer)
    return api


def _files(api: APIRouter) -> None:
    """The page and its scripts, and plotly.js from the wheel."""

    @api.get("/", response_class=HTMLResponse)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @api.get("/trace/{trace_id}", response_class=HTMLResponse)
    def trace_page(trace_id: str) -> FileResponse:
        # One page for every trace: trace.js reads the id from the address and asks GET /traces/ID.
        return FileResponse(STATIC / "trace.html", headers={"Cache-Control": "no-store"})

    @api.get("/static/{name}")
    def static(name: str) -> FileResponse:
        if name == "plotly.min.js":
            return FileResponse(PLOTLY_JS, media_type="text/javascript")
        if name not in FILES:
            raise HTTPException(404, f"no such file: {name}")
        return FileResponse(STATIC / name, media_type=FILES[name])


def _login(api: APIRouter, sessions: Sessions, bearer: Callable[..., None]) -> None:
    """Who is logged in, the login form, one-time login links, logout."""

    @api.get("/session")
    def session(request: Request) -> dict[str, Any]:
        # Never the CSRF token: whoever holds the cookie (any port of this host) could read it here.
        found = sessions.get(request.cookies.get(sessions.cookie))
        return {"logged_in": True, "user": found.user} if found else {"logged_in": False}

    @api.post("/login")
    def login(body: Login) -> Response:
        if not sessions.token_ok(body.token):
            raise HTTPException(401, "wrong token: 'canary' reads it from the run directory's controller.json")
        return _logged_in(sessions, body.user, lambda csrf: JSONResponse({"user": body.user, "csrf": csrf}))

    @api.get("/login")
    def login_with_code(request: Request, code: str = "") -> Response:
        user = sessions.redeem(code)
        if user is None:
            if "text/html" not in request.headers.get("accept", ""):  # a script or a tool, not a browser
                raise HTTPException(401, "this login link is spent or expired: run 'canary dashboard --open' again")
            return HTMLResponse("<p>This login link is spent or expired: run <code>canary dashboard --open</code> "
                                "again, or log in on <a href='/'>the dashboard</a>.</p>", status_code=401)
        # A redirect, so the code leaves the address bar and the history at once; the CSRF token rides
        # after '#', which the browser sends to no server, and the page moves it to its storage at once.
        return _logged_in(sessions, user, lambda csrf: RedirectResponse(f"/#csrf={csrf}", status_code=303))

    @api.post("/logout")
    def logout(request: Request) -> Response:
        sessions.close(request.cookies.get(sessions.cookie))
        response = Response(status_code=204)
        response.delete_cookie(sessions.cookie, path="/")
        return response

    @api.post("/login-codes", dependencies=[Depends(bearer)])
    def login_code(request: Request) -> dict[str, str]:
        code = sessions.new_code(request.headers.get("x-canary-user", "unknown"))
        return {"code": code, "path": f"/login?code={code}"}
