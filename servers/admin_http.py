"""The fault admin endpoint on Flask, for the Seldon wrapper, which has no custom routes of its own.

Same paths, token rule and answers as the MLServer runtime's custom handlers. The
wrapper runs it through its ``custom_service`` hook in a process of its own; Flask
is the web framework that process already carries (seldon-core depends on it).
"""

import logging
import time

from flask import Flask, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from servers import admin, faults
from servers.errors import NotReady, ServingError

logger = logging.getLogger("ml_canary.admin")


def create_app(store: faults.FaultStore, version: str, admin_token: str) -> Flask:
    """The admin app: GET and POST the fault state, GET readiness with the ``unready`` fault."""
    app = Flask("ml_canary_admin")

    def answer(status: int, doc: dict):
        response = jsonify(doc)
        response.status_code = status
        response.headers[admin.VERSION_HEADER] = version
        return response

    @app.get(admin.FAULTS_PATH)
    def get_faults():
        return answer(200, {"model_version": version, **store.current().model_dump()})

    @app.post(admin.FAULTS_PATH)
    def set_faults():
        status, doc = _update(store, version, admin_token)
        return answer(status, doc)

    @app.get(admin.READY_PATH)
    def ready():
        if store.current().unready:
            error = NotReady(f"model version {version} is unready (fault injection)")
            return answer(error.status_code, {"error": str(error)})
        return answer(200, {"ready": True, "model_version": version})

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return answer(exc.code or 500, {"error": f"{exc.name}: try {admin.FAULTS_PATH} or {admin.READY_PATH}"})

    return app


def _update(store: faults.FaultStore, version: str, admin_token: str) -> tuple[int, dict]:
    """Apply a POSTed change: 401/403 without the token, 400 for a body that is no object, 422 for bad fields."""
    try:
        admin.authorise(request.headers.get("Authorization"), admin_token)
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return 400, {"error": "bad fault update: the body must be a JSON object"}
        update = faults.FaultUpdate(**body)
    except ServingError as exc:
        return exc.status_code, {"error": str(exc)}
    except ValidationError as exc:  # 422 like FastAPI's
        return 422, {"error": f"bad fault update: {exc}"}
    new = update.apply(store.current())
    store.write(new)
    time.sleep(store.settle_s)  # answered once every worker sees it; this thread only
    logger.warning("fault state of model version %s set to %s", version, new.model_dump())
    return 200, {"model_version": version, **new.model_dump()}


def serve_forever(host: str, port: int, store: faults.FaultStore, version: str, admin_token: str) -> None:
    """Serve the admin app on ``host`` (a pod's every interface, or loopback), one thread per request."""
    server = make_server(host, port, create_app(store, version, admin_token), threaded=True)
    logger.info("fault admin endpoint on http://%s:%d%s", host, port, admin.FAULTS_PATH)
    server.serve_forever()
