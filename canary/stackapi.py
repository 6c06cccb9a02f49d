"""The stack supervisor's control API on localhost: status is open, changes need the token."""

import hmac
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import ThreadingHTTPServer
from urllib.parse import urlparse

from canary import envoy
from canary.httpjson import JsonHandler
from canary.stack import Stack, StackError


def _header_routes(raw: list[dict]) -> list[envoy.HeaderRoute]:
    """[{"name": "canary-header", "match": [{"headerName": "x-canary", "headerValue": {"exact": "always"}}]}]"""
    out = []
    for route in raw:
        matches = []
        for m in route.get("match", []):
            (kind, value), = m["headerValue"].items()
            if kind not in ("exact", "prefix", "regex"):
                raise ValueError(f"header route {route['name']}: headerValue {kind} is not exact, prefix or regex")
            matches.append((m["headerName"], kind, value))
        out.append(envoy.HeaderRoute(route["name"], tuple(matches)))
    return out


def _add_canary(stack: Stack, body: dict) -> None:
    """Start the canary; the answer is the stack's status."""
    stack.add_canary(body["version"], {k: str(v) for k, v in body.get("faults", {}).items()})


def make_handler(stack: Stack, stop: threading.Event, changes: ThreadPoolExecutor):
    class Handler(JsonHandler):
        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/status":
                return self._send(200, stack.status())
            self._send(404, {"error": f"no route {url.path}"})

        def _change(self, action) -> None:
            if not hmac.compare_digest(self.headers.get("Authorization", ""), f"Bearer {stack.api_token}"):
                return self._send(401, {"error": "missing or wrong token: it is in the run directory's stack.json"})
            try:
                body = self._body()
                # One long-lived thread makes every change: children die with the
                # thread that started them (PR_SET_PDEATHSIG), and changes stay serial.
                result = changes.submit(action, body).result()
            except (ValueError, KeyError, TypeError) as exc:
                return self._send(400, {"error": f"bad request: {exc}"})
            except StackError as exc:
                return self._send(409, {"error": str(exc)})
            self._send(200, result if result is not None else stack.status())

        def do_POST(self):
            path = urlparse(self.path).path
            actions = {
                "/canary": lambda b: _add_canary(stack, b),
                "/canary/promote": lambda b: stack.promote_canary(),
                "/retire": lambda b: stack.retire(b["version"]),
                "/routing": lambda b: stack.set_routing(int(b.get("canary_weight", 0)), _header_routes(b.get("header_routes", []))),
                "/shutdown": lambda b: stop.set() or {"stopping": True},
            }
            if path not in actions:
                return self._send(404, {"error": f"no route {path}"})
            self._change(actions[path])

        def do_DELETE(self):
            if urlparse(self.path).path != "/canary":
                return self._send(404, {"error": f"no route {self.path}"})
            self._change(lambda b: stack.remove_canary())


    return Handler


def serve(stack: Stack, port: int, stop: threading.Event) -> ThreadingHTTPServer:
    changes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stack-changes")
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(stack, stop, changes))
    threading.Thread(target=server.serve_forever, name="stack-api", daemon=True).start()
    return server
