"""The page, its scripts and plotly.js (from the plotly wheel), and the login routes."""

from pathlib import Path

import plotly
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from canary.dashboard.sessions import COOKIE, Sessions

STATIC = Path(__file__).with_name("static")
# The wheel's own copy of plotly.js: installed by pip with the stack, served from here, so the
# page needs neither a CDN nor a file copied into the repository.
PLOTLY_JS = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
FILES = {"dashboard.js": "text/javascript", "charts.js": "text/javascript", "controls.js": "text/javascript",
         "dashboard.css": "text/css"}


class Login(BaseModel):
    """The login form: the control token, and a name for the audit log."""

    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1)
    user: str = Field("dashboard", min_length=1, max_length=64, pattern=r"^[\w.@ -]+$")


def _with_cookie(response: Response, sessions: Sessions, user: str) -> Response:
    response.set_cookie(COOKIE, sessions.open(user), httponly=True, samesite="strict", path="/",
                        max_age=int(sessions.ttl_s))
    return response


def router(sessions: Sessions, bearer) -> APIRouter:
    """GET / and /static/*; GET /session; POST /login, /logout, /login-codes; GET /login?code=."""
    api = APIRouter()
    _files(api)
    _login(api, sessions, bearer)
    return api


def _files(api: APIRouter) -> None:
    """The page and its scripts, and plotly.js from the wheel."""

    @api.get("/", response_class=HTMLResponse)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @api.get("/static/{name}")
    def static(name: str) -> FileResponse:
        if name == "plotly.min.js":
            return FileResponse(PLOTLY_JS, media_type="text/javascript")
        if name not in FILES:
            raise HTTPException(404, f"no such file: {name}")
        return FileResponse(STATIC / name, media_type=FILES[name])


def _login(api: APIRouter, sessions: Sessions, bearer) -> None:
    """Who is logged in, the login form, one-time login links, logout."""

    @api.get("/session")
    def session(request: Request) -> dict:
        found = sessions.get(request.cookies.get(COOKIE))
        return {"logged_in": True, "user": found.user, "csrf": found.csrf} if found else {"logged_in": False}

    @api.post("/login")
    def login(body: Login) -> Response:
        if not sessions.token_ok(body.token):
            raise HTTPException(401, "wrong token: 'canary' reads it from the run directory's controller.json")
        return _with_cookie(Response(status_code=204), sessions, body.user)

    @api.get("/login")
    def login_with_code(code: str = "") -> Response:
        user = sessions.redeem(code)
        if user is None:
            return HTMLResponse("<p>This login link is spent or expired: run <code>canary dashboard --open</code> "
                                "again, or log in on <a href='/'>the dashboard</a>.</p>", status_code=401)
        # A redirect, so the code leaves the address bar and the history at once.
        return _with_cookie(RedirectResponse("/", status_code=303), sessions, user)

    @api.post("/logout")
    def logout(request: Request) -> Response:
        sessions.close(request.cookies.get(COOKIE))
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/")
        return response

    @api.post("/login-codes", dependencies=[Depends(bearer)])
    def login_code(request: Request) -> dict:
        code = sessions.new_code(request.headers.get("x-canary-user", "unknown"))
        return {"code": code, "path": f"/login?code={code}"}
