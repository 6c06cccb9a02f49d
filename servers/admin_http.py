"""The fault admin endpoint as a small stdlib HTTP server, for runtimes without custom routes.

Same paths, token rule and answers as the MLServer runtime's custom handlers; the
Seldon wrapper runs it through its ``custom_service`` hook in a process of its own.
"""

import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pydantic import ValidationError

from servers import admin, faults
from servers.errors import NotReady, ServingError

logger = logging.getLogger("ml_canary.admin")


def make_handler(store: faults.FaultStore, version: str, admin_token: str):
    class Handler(BaseHTTPRequestHandler):
        server_version = "ml-canary-admin"

        def _send(self, status: int, doc: dict) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header(admin.VERSION_HEADER, version)
            self.end_headers()
            self.wfile.write(body)

        def _state(self) -> dict:
            return {"model_version": version, **store.read().model_dump()}

        def do_GET(self):
            if self.path == admin.FAULTS_PATH:
                return self._send(200, self._state())
            if self.path == admin.READY_PATH:
                if store.read().unready:
                    error = NotReady(f"model version {version} is unready (fault injection)")
                    return self._send(error.status_code, {"error": str(error)})
                return self._send(200, {"ready": True, "model_version": version})
            self._send(404, {"error": f"no route {self.path}; try {admin.FAULTS_PATH} or {admin.READY_PATH}"})

        def do_POST(self):
            if self.path != admin.FAULTS_PATH:
                return self._send(404, {"error": f"no route {self.path}; POST to {admin.FAULTS_PATH}"})
            try:
                admin.authorise(self.headers.get("Authorization"), admin_token)
                length = int(self.headers.get("Content-Length") or 0)
                update = faults.FaultUpdate(**json.loads(self.rfile.read(length) or b"{}"))
            except ServingError as exc:
                return self._send(exc.status_code, {"error": str(exc)})
            except (ValueError, TypeError) as exc:
                # pydantic's ValidationError is a ValueError: 422 like FastAPI; bad JSON is 400.
                status = 422 if isinstance(exc, ValidationError) else 400
                return self._send(status, {"error": f"bad fault update: {exc}"})
            new = update.apply(store.read())
            store.write(new)
            logger.warning("fault state of model version %s set to %s", version, new.model_dump())
            self._send(200, self._state())

        def log_message(self, fmt, *args):
            logger.debug("admin: " + fmt, *args)

    return Handler


def serve_forever(port: int, store: faults.FaultStore, version: str, admin_token: str) -> None:
    server = ThreadingHTTPServer(("0.0.0.0", port), make_handler(store, version, admin_token))
    logger.info("fault admin endpoint on http://0.0.0.0:%d%s", port, admin.FAULTS_PATH)
    server.serve_forever()
