"""Talk to a running stack supervisor, found through its run directory's stack.json."""

import json
from pathlib import Path

import httpx


class NotRunning(Exception):
    """No stack runs with this run directory."""


class StackClient:
    def __init__(self, run_dir: Path, timeout_s: float = 120.0):
        path = Path(run_dir) / "stack.json"
        try:
            self.state = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            raise NotRunning(f"no stack runs with run directory {run_dir} (no {path}); start one with 'canary up'") from None
        self._http = httpx.Client(base_url=self.state["api"], timeout=timeout_s,
                                  headers={"Authorization": f"Bearer {self.state['token']}"})

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.ConnectError:
            raise NotRunning(f"the stack supervisor (pid {self.state['pid']}) does not answer at {self.state['api']}") from None
        doc = response.json()
        if response.status_code >= 400:
            raise RuntimeError(doc.get("error", response.text))
        return doc

    def status(self) -> dict:
        return self._call("GET", "/status")

    def logs(self, name: str, lines: int = 50) -> str:
        return self._call("GET", f"/logs/{name}?lines={lines}")["log"]

    def add_canary(self, version: str, faults: dict | None = None) -> dict:
        return self._call("POST", "/canary", {"version": version, "faults": faults or {}})

    def remove_canary(self) -> dict:
        return self._call("DELETE", "/canary")

    def promote_canary(self) -> dict:
        return self._call("POST", "/canary/promote")

    def retire(self, version: str) -> dict:
        return self._call("POST", "/retire", {"version": version})

    def set_routing(self, canary_weight: int, header_routes: list[dict] | None = None) -> dict:
        return self._call("POST", "/routing", {"canary_weight": canary_weight, "header_routes": header_routes or []})

    def shutdown(self) -> dict:
        return self._call("POST", "/shutdown")


class ControlClient:
    """Talk to a running rollout controller, found through the run directory's controller.json."""

    def __init__(self, run_dir: Path, user: str = "unknown", timeout_s: float = 30.0):
        path = Path(run_dir) / "controller.json"
        try:
            self.state = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            raise NotRunning(f"no controller runs with run directory {run_dir}; start one with 'canary controller'") from None
        self._http = httpx.Client(base_url=self.state["api"], timeout=timeout_s,
                                  headers={"Authorization": f"Bearer {self.state['token']}", "X-Canary-User": user})

    def get(self, events: int = 20) -> dict:
        return self._call("GET", f"/rollout?events={events}")

    def events(self, after: int = 0) -> list[dict]:
        return self._call("GET", f"/events?after={after}")

    def post(self, path: str, body: dict | None = None) -> dict:
        return self._call("POST", path, body or {})

    def _call(self, method: str, path: str, body: dict | None = None):
        try:
            response = self._http.request(method, path, json=body)
        except httpx.ConnectError:
            raise NotRunning(f"the controller (pid {self.state['pid']}) does not answer at {self.state['api']}") from None
        doc = response.json()
        if response.status_code >= 400:
            raise RuntimeError(doc.get("error", response.text))
        return doc
