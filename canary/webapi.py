"""What the stack, control and judge APIs share: FastAPI apps with JSON errors, a token check, a server thread.

Every error is ``{"error": "..."}``: a body that fails its model is a 422 naming the
field, a control that does not apply now a 409, a platform call that failed a 502, a
request addressed to a foreign name a 400 and a change from another origin a 403
(canary.origin).
"""

import hmac
import threading
from collections.abc import Callable, Sequence

import uvicorn
from fastapi import FastAPI, Header, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from canary.origin import LOOPBACK, LocalOrigin
from canary.polling import wait_until


def create_app(title: str, hosts: Sequence[str] = LOOPBACK) -> FastAPI:
    """A FastAPI app with JSON errors, its OpenAPI document on /openapi.json and no docs pages (they would load
    scripts from a CDN), answering only requests to ``hosts`` (canary.origin)."""
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.add_middleware(LocalOrigin, hosts=hosts)

    # Starlette's class, not FastAPI's subclass: the router's own refusals (404 for an unknown path, 405, a body
    # that does not parse) are Starlette's, and they too answer {"error": ...}.
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"error": f"bad request: {problems}"}, status_code=422)

    return app


def serve_metrics(app: FastAPI, registry: CollectorRegistry) -> None:
    """``GET /metrics``: the registry in Prometheus' text format, open like every read on localhost."""

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def token_check(expected: str, hint: str) -> Callable[[str], None]:
    """A dependency that refuses a request without ``Authorization: Bearer <expected>`` (401)."""

    def check(authorization: str = Header(default="")) -> None:
        if not hmac.compare_digest(authorization.encode(), f"Bearer {expected}".encode()):
            raise HTTPException(401, f"missing or wrong token: {hint}")

    return check


class ServerThread:
    """uvicorn serving ``app`` on ``host`` (127.0.0.1):``port`` from a daemon thread; ``stop`` ends it."""

    def __init__(self, app: FastAPI, port: int, name: str, host: str = "127.0.0.1"):
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    def start(self, timeout_s: float = 10.0) -> "ServerThread":
        """Start and wait until the socket listens; OSError when it cannot bind."""
        self._thread.start()
        if not wait_until(lambda: self._server.started, timeout_s, 0.02, alive=self._thread.is_alive):
            raise OSError(f"the API server did not start on port {self._server.config.port}")
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(10)
