"""Clients of the stack supervisor and the rollout controller, found through their run directory."""

import json
from pathlib import Path
from typing import Any

import httpx


class NotRunning(Exception):
    """No process answers for this run directory."""


class ApiError(RuntimeError):
    """The API answered with an error, or did not answer in time; the message says which."""


class ApiClient:
    """A client for one of the local APIs, found through a JSON file in the run directory."""

    what = "process"
    start_hint = ""

    def __init__(self, path: Path, timeout_s: float, headers: dict[str, str] | None = None):
        try:
            self.state = json.loads(Path(path).read_text())
        except (FileNotFoundError, ValueError):
            raise NotRunning(f"no {self.what} runs with run directory {Path(path).parent}; {self.start_hint}") from None
        if not isinstance(self.state, dict) or not {"api", "token", "pid"} <= self.state.keys():
            raise NotRunning(f"{path} is not the state file of a running {self.what}; remove it and {self.start_hint}")
        self.timeout_s = timeout_s
        self._http = httpx.Client(base_url=self.state["api"], timeout=timeout_s,
                                  headers={"Authorization": f"Bearer {self.state['token']}", **(headers or {})})

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              read_s: float | None = None) -> Any:
        timeout = httpx.USE_CLIENT_DEFAULT if read_s is None else httpx.Timeout(self.timeout_s,
                                                                              read=max(read_s, self.timeout_s))
        try:
            response = self._http.request(method, path, json=body, timeout=timeout)
        except httpx.ConnectError:
            raise NotRunning(f"the {self.what} (pid {self.state['pid']}) does not answer at "
                             f"{self.state['api']}") from None
        except httpx.HTTPError as exc:  # a timeout or a broken answer: the caller may try again
            raise ApiError(f"the {self.what} at {self.state['api']} failed {method} {path}: "
                           f"{type(exc).__name__}") from None
        try:
            doc = response.json()
        except ValueError:
            raise ApiError(f"the {self.what} answered HTTP {response.status_code} to {method} {path}, "
                           "not JSON") from None
        if response.status_code >= 400:
            raise ApiError(doc.get("error", response.text) if isinstance(doc, dict) else response.text)
        return doc

    def _object(self, method: str, path: str, body: dict[str, Any] | None = None,
                read_s: float | None = None) -> dict[str, Any]:
        """A call whose answer is a JSON object (``read_s``: how long to wait for it, if not the client's timeout)."""
        doc: dict[str, Any] = self._call(method, path, body, read_s)
        return doc

    def _objects(self, method: str, path: str) -> list[dict[str, Any]]:
        """A call whose answer is a JSON array of objects."""
        docs: list[dict[str, Any]] = self._call(method, path)
        return docs


STACK_TIMEOUT_S = 120.0  # above the stack's wait for a runtime (StackSettings.start_timeout_s, 90 s)
# A start answers once its canary is up (canary.rollout.launch.start_canary): up to four stack calls (the
# aborted canary removed, the version's retired runtime stopped, the canary added, the revisions read), each
# bounded by STACK_TIMEOUT_S, and the controller's lock before and after them: the client waits that long for
# the answer, and a minute more; it still connects within its own timeout.
START_READ_S = 4 * STACK_TIMEOUT_S + 60
STARTS = ("/rollout", "/retry")


class StackClient(ApiClient):
    """The stack supervisor's API (``canary up``)."""

    what = "stack supervisor"
    start_hint = "start one with 'canary up'"

    def __init__(self, run_dir: Path, timeout_s: float = STACK_TIMEOUT_S):
        super().__init__(Path(run_dir) / "stack.json", timeout_s)

    def status(self) -> dict[str, Any]:
        """Processes, routing and ports."""
        return self._object("GET", "/status")

    def add_canary(self, version: str, faults: dict[str, str] | None = None) -> dict[str, Any]:
        """Start ``version`` as the canary, with FAULT_* variables."""
        return self._object("POST", "/canary", {"version": version, "faults": faults or {}})

    def remove_canary(self) -> dict[str, Any]:
        """Traffic off the canary, then stop it."""
        return self._object("DELETE", "/canary")

    def promote_canary(self) -> dict[str, Any]:
        """The canary becomes stable."""
        return self._object("POST", "/canary/promote")

    def retire(self, version: str) -> dict[str, Any]:
        """Stop a version that no longer serves."""
        return self._object("POST", "/retire", {"version": version})

    def set_routing(self, canary_weight: int, header_routes: list[dict[str, Any]] | None = None,
                    mirror_routes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Weight, header routes (Argo's ``{name, match}``) and mirror routes (``{name, percentage, match}``)."""
        return self._object("POST", "/routing", {"canary_weight": canary_weight,
                                                 "header_routes": header_routes or [],
                                                 "mirror_routes": mirror_routes or []})

    def shutdown(self) -> dict[str, Any]:
        """Ask the supervisor to stop everything."""
        return self._object("POST", "/shutdown")


class ControlClient(ApiClient):
    """The rollout controller's API (``canary controller``)."""

    what = "controller"
    start_hint = "start one with 'canary controller'"

    def __init__(self, run_dir: Path, user: str = "unknown", timeout_s: float = 30.0):
        super().__init__(Path(run_dir) / "controller.json", timeout_s, {"X-Canary-User": user})

    def get(self, events: int = 20) -> dict[str, Any]:
        """The rollout as 'canary get' shows it."""
        return self._object("GET", f"/rollout?events={events}")

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        """Event lines after id ``after``."""
        return self._objects("GET", f"/events?after={after}")

    def audit(self) -> list[dict[str, Any]]:
        """The audit log: who changed what."""
        return self._objects("GET", "/audit")

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A control: /rollout, /pause, /resume, /promote, /abort, /retry, /fault; a start waits for its canary."""
        return self._object("POST", path, body or {}, START_READ_S if path in STARTS else None)
