"""The control API, served by uvicorn, fuzzed from its own OpenAPI document: with no credentials, and as a
logged-in dashboard. The stack API and the judge are fuzzed live in tests/canary/local/test_stack.py."""

import json
import os

import httpx
import pytest

from canary.local import controlapi
from canary.local.client import StackClient
from tests.apps import served as served_app
from tests.canary.rollout.test_controller import rig  # noqa: F401 - the controller over fakes
from tests.fuzz import fuzz

TOKEN = "the-control-token"
# Calls that reach the stack, Prometheus or the judge: none runs here, so each is a 502 that names it.
UPSTREAM = ("GET /runtimes", "GET /traces", "GET /traces/{trace_id}", "POST /fault", "GET /prometheus/api/v1/{name}", "GET /judge/v1/analyses")


@pytest.fixture
def served(rig, tmp_path):  # noqa: F811
    make, *_ = rig
    ctrl = make()
    ctrl.start("v2")
    # A stack that ran and is gone: its state file names a port nothing listens on.
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "stack.json").write_text(json.dumps({"api": "http://127.0.0.1:9", "token": "t",
                                                               "pid": os.getpid(), "fault_token": "f"}))
    api = controlapi.create(ctrl, TOKEN, StackClient(tmp_path / "stack"), "http://127.0.0.1:9", "http://127.0.0.1:9")
    for server in served_app(api, "fuzzed-control-api"):
        yield server.url, ctrl


def controller_state(ctrl):
    """What a refused request must leave alone: the rollout, its audit log and its events."""
    return lambda: (ctrl.state.summary(), ctrl.store.audit_log(1000), ctrl.store.events(limit=1000))


def test_the_control_api_fuzzed_without_credentials_changes_nothing(served):
    base, ctrl = served
    before = controller_state(ctrl)()
    made = fuzz(base, upstream=UPSTREAM, state=controller_state(ctrl))
    assert made > 200 and controller_state(ctrl)() == before  # every change refused, as it must be


def test_the_control_api_fuzzed_as_a_logged_in_dashboard(served):
    base, ctrl = served
    login = httpx.post(f"{base}/login", json={"token": TOKEN, "user": "fuzz"})
    cookie = dict(login.cookies)
    made = fuzz(base, headers={"X-CSRF-Token": login.json()["csrf"]}, cookies=cookie, upstream=UPSTREAM,
                skip=("POST /logout",), state=controller_state(ctrl))
    assert made > 200 and any(a["who"] == "fuzz" for a in ctrl.store.audit_log(1000))  # some changes went through
