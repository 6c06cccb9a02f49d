"""The small JSON-over-HTTP plumbing both local APIs (stack and controller) share."""

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx


class JsonHandler(BaseHTTPRequestHandler):
    """Send and read JSON; no access log on stderr."""

    def _send(self, status: int, doc) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict:
        doc = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if not isinstance(doc, dict):
            raise ValueError("the body must be a JSON object")
        return doc

    def log_message(self, fmt, *args):
        pass


class NotRunning(Exception):
    """No process answers for this run directory."""


class ApiClient:
    """A client for one of the local APIs, found through a JSON file in the run directory."""

    what = "process"
    start_hint = ""

    def __init__(self, path: Path, timeout_s: float, headers: dict | None = None):
        try:
            self.state = json.loads(Path(path).read_text())
        except (FileNotFoundError, ValueError):
            raise NotRunning(f"no {self.what} runs with run directory {Path(path).parent}; {self.start_hint}") from None
        self._http = httpx.Client(base_url=self.state["api"], timeout=timeout_s,
                                  headers={"Authorization": f"Bearer {self.state['token']}", **(headers or {})})

    def _call(self, method: str, path: str, body: dict | None = None):
        try:
            response = self._http.request(method, path, json=body)
        except httpx.ConnectError:
            raise NotRunning(f"the {self.what} (pid {self.state['pid']}) does not answer at {self.state['api']}") from None
        doc = response.json()
        if response.status_code >= 400:
            raise RuntimeError(doc.get("error", response.text))
        return doc
