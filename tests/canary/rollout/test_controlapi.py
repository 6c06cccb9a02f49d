"""The control API's refusals, served by uvicorn in this process over a controller with fake edges: a change
without the token, and a bad body through 'canary's own client."""

import json
import os
import time

import httpx
import pytest

from canary.local import controlapi
from canary.local.client import ApiError, ControlClient
from tests.apps import served as served_app
from tests.canary.rollout.test_controller import rig  # noqa: F401 - the controller over fakes

TOKEN = "the-control-token"


@pytest.fixture
def served(rig, tmp_path):  # noqa: F811
    """A Healthy controller on v1, nothing rolling out, its API on a port, its state file as the CLI finds it."""
    make, _, router, *_ = rig
    ctrl = make()
    app = controlapi.create(ctrl, TOKEN, stack=None, prometheus_url="http://127.0.0.1:9", judge_url="http://127.0.0.1:9")
    for server in served_app(app, "control-api"):
        (tmp_path / "controller.json").write_text(json.dumps({"api": server.url, "token": TOKEN, "pid": os.getpid()}))
        yield server.url, ControlClient(tmp_path, user="tests"), ctrl, router


def unchanged(ctrl, router) -> tuple:
    """The rollout, its audit log, and what the platform was asked once the controller has reconciled."""
    ctrl.reconcile()
    summary = ctrl.state.summary()
    return summary["phase"], summary["stable"], summary["target"], ctrl.store.audit_log(100), router.calls


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}], ids=["no token", "a wrong token"])
def test_a_change_without_the_token_is_a_401_that_says_so_and_changes_nothing(served, headers):
    api, _, ctrl, router = served
    before = unchanged(ctrl, router)
    answer = httpx.post(f"{api}/rollout", json={"version": "v2"}, headers=headers)
    assert answer.status_code == 401 and "token" in answer.json()["error"]
    assert unchanged(ctrl, router) == before and before[3:] == ([], [])  # no audit entry, no canary started


@pytest.mark.parametrize("body, names", [({"version": ""}, "version"),
                                          ({"version": "v2", "faults": {"error_ratio": 2}}, "error_ratio"),
                                          ({"version": "v2", "colour": 1}, "colour")])
def test_a_bad_body_is_a_422_that_names_the_field_and_changes_nothing(served, body, names):
    _, client, ctrl, router = served
    before = unchanged(ctrl, router)
    with pytest.raises(ApiError, match=f"bad request.*{names}"):
        client.post("/rollout", body)
    assert unchanged(ctrl, router) == before and before[0] == "Healthy" and before[3:] == ([], [])


def test_a_fault_with_a_misspelt_field_is_refused_by_name(served):
    _, client, _, _ = served
    with pytest.raises(ApiError, match="error_rate"):
        client.post("/fault", {"version": "v1", "error_rate": 1})


def test_a_rollout_answers_once_its_canary_is_up_past_the_clients_ordinary_timeout(
        served, tmp_path, monkeypatch):
    """A runtime loading its model on a busy machine takes more than the 30 s any other control may: 'canary
    rollout' waits for it rather than failing a start that goes on (the controller waits for the stack)."""
    _, _, ctrl, router = served
    client = ControlClient(tmp_path, user="tests", timeout_s=0.2)
    started = router.add_canary

    def slow_start(version, faults):
        time.sleep(1.0)  # the platform's start, not a wait on the test's own condition
        started(version, faults)

    monkeypatch.setattr(router, "add_canary", slow_start)
    doc = client.post("/rollout", {"version": "v2"})
    assert doc["target"] == "v2" and router.canary == "v2" and not ctrl.state.starting
