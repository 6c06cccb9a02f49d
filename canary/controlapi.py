"""The controller's control API: reads are open on localhost, every change needs the token and is audited."""

import hmac
from http.server import ThreadingHTTPServer
from threading import Thread
from urllib.parse import parse_qs, urlparse

import httpx

from canary import spec
from canary.httpjson import JsonHandler
from canary.client import StackClient
from canary.controller import ControlError, Controller

FAULT_FIELDS = {"error_ratio", "latency_ms", "latency_jitter_ms", "wrong_ratio", "unready", "clear"}


def view(ctrl: Controller, events: int = 20) -> dict:
    """What 'canary get' shows: phase, step, weights, the analysis with its measurements, recent events."""
    with ctrl.lock:
        s = ctrl.state
        run = ctrl._run
        out = {**s.summary(), "message": s.message, "paused": s.paused, "pause_reason": s.pause_reason,
               "steps": len(ctrl.spec.steps), "header_routes": sorted(s.header_routes), "faults": s.faults,
               "time_scale": ctrl.time_scale, "history": s.history,
               "current_step": type(ctrl.spec.steps[s.step]).__name__ if s.target and s.step < len(ctrl.spec.steps) else None,
               "analysis": None}
        if run:
            out["analysis"] = {"name": run.name, "phase": run.phase, "metrics": [
                {"name": n, "phase": st.phase, "count": st.count, "failed": st.failed, "inconclusive": st.inconclusive,
                 "errors": st.error, "measurements": [{"phase": m.phase, "value": m.value, "message": m.message, "at": m.at}
                                                      for m in st.measurements[-6:]]}
                for n, st in run.states.items()]}
    out["events"] = ctrl.store.events(limit=events)
    return out


def make_handler(ctrl: Controller, token: str, stack: StackClient):
    class Handler(JsonHandler):
        def do_GET(self):
            url = urlparse(self.path)
            query = parse_qs(url.query)
            if url.path == "/rollout":
                return self._send(200, view(ctrl, int(query.get("events", ["20"])[0])))
            if url.path == "/events":
                return self._send(200, ctrl.store.events(after_id=int(query.get("after", ["0"])[0])))
            if url.path == "/audit":
                return self._send(200, ctrl.store.audit_log())
            self._send(404, {"error": f"no route {url.path}; try /rollout, /events or /audit"})

        def do_POST(self):
            path = urlparse(self.path).path
            actions = {
                "/rollout": lambda b: ctrl.start(_version(b), _faults(b.get("faults", {}))),
                "/pause": lambda b: ctrl.pause(),
                "/resume": lambda b: ctrl.resume(),
                "/promote": lambda b: ctrl.promote(bool(b.get("full", False))),
                "/abort": lambda b: ctrl.abort("aborted by request"),
                "/retry": lambda b: ctrl.retry(),
                "/fault": lambda b: _fault(stack, b),
            }
            if path not in actions:
                return self._send(404, {"error": f"no route {path}"})
            if not hmac.compare_digest(self.headers.get("Authorization", ""), f"Bearer {token}"):
                return self._send(401, {"error": "missing or wrong token: 'canary' reads it from the run directory's controller.json"})
            try:
                body = self._body()
                before = ctrl.state.summary()
                result = actions[path](body)
                after = ctrl.state.summary()
            except (ValueError, spec.SpecError) as exc:
                return self._send(400, {"error": str(exc)})
            except ControlError as exc:
                return self._send(409, {"error": str(exc)})
            except RuntimeError as exc:
                return self._send(502, {"error": str(exc)})
            who = self.headers.get("X-Canary-User", "unknown")
            ctrl.store.audit(who, path.strip("/"), body, before, after)
            self._send(200, result if isinstance(result, dict) else view(ctrl, 5))


    return Handler


def _version(body: dict) -> str:
    version = body.get("version")
    if not isinstance(version, str) or not version:
        raise ValueError("'version' is required, e.g. {\"version\": \"v2\"}")
    return version


def _faults(raw: dict) -> dict:
    names = {"error_ratio": "FAULT_ERROR_RATIO", "latency_ms": "FAULT_LATENCY_MS", "wrong_ratio": "FAULT_WRONG_RATIO",
             "unready": "FAULT_UNREADY", "latency_jitter_ms": "FAULT_LATENCY_JITTER_MS"}
    unknown = set(raw) - set(names)
    if unknown:
        raise ValueError(f"unknown faults {sorted(unknown)}; known: {sorted(names)}")
    return {names[k]: str(v).lower() if isinstance(v, bool) else str(v) for k, v in raw.items()}


def _fault(stack: StackClient, body: dict) -> dict:
    """Flip a running runtime's fault switch, through its admin endpoint."""
    version = _version(body)
    change = {k: v for k, v in body.items() if k in FAULT_FIELDS}
    if set(body) - FAULT_FIELDS - {"version"}:
        raise ValueError(f"unknown fault fields {sorted(set(body) - FAULT_FIELDS - {'version'})}")
    runtime = next((p for p in stack.status()["processes"] if p["version"] == version), None)
    if runtime is None:
        raise ControlError(f"no runtime serves {version}; running: "
                           f"{[p['version'] for p in stack.status()['processes'] if p['version']]}")
    response = httpx.post(f"{runtime['admin_url']}/ml-canary/v1/faults", json=change,
                          headers={"Authorization": f"Bearer {stack.state['fault_token']}"}, timeout=10)
    if response.status_code >= 400:
        raise ValueError(f"runtime {version} refused the change: {response.text}")
    return response.json()


def serve(ctrl: Controller, port: int, token: str, stack: StackClient) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(ctrl, token, stack))
    Thread(target=server.serve_forever, name="control-api", daemon=True).start()
    return server
