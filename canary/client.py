"""Clients of the stack supervisor and the rollout controller, found through their run directory."""

from pathlib import Path

from canary.httpjson import ApiClient, NotRunning

__all__ = ["ControlClient", "NotRunning", "StackClient"]


class StackClient(ApiClient):
    what = "stack supervisor"
    start_hint = "start one with 'canary up'"

    def __init__(self, run_dir: Path, timeout_s: float = 120.0):
        super().__init__(Path(run_dir) / "stack.json", timeout_s)

    def status(self) -> dict:
        return self._call("GET", "/status")

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


class ControlClient(ApiClient):
    what = "controller"
    start_hint = "start one with 'canary controller'"

    def __init__(self, run_dir: Path, user: str = "unknown", timeout_s: float = 30.0):
        super().__init__(Path(run_dir) / "controller.json", timeout_s, {"X-Canary-User": user})

    def get(self, events: int = 20) -> dict:
        return self._call("GET", f"/rollout?events={events}")

    def events(self, after: int = 0) -> list[dict]:
        return self._call("GET", f"/events?after={after}")

    def post(self, path: str, body: dict | None = None) -> dict:
        return self._call("POST", path, body or {})
