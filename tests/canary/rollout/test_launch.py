"""A canary that takes long to start holds up nothing: reads and abort answer meanwhile, and the abort wins."""

import threading
from dataclasses import asdict

import pytest
from fastapi.testclient import TestClient

from canary.local import controlapi
from canary.rollout.controller import DEGRADED, ControlError, Controller, Platform, RolloutState
from canary.rollout.state import Store
from tests.canary.conftest import weighted_steps
from tests.canary.rollout.test_controller import Clock, Judge, Provider, Router, run_until

TOKEN = "the-control-token"


class SlowRouter(Router):
    """A platform whose canary takes until ``release`` to start (a runtime loading a model, an image pulled)."""

    def __init__(self, fail: Exception | None = None):
        super().__init__()
        self.adding, self.release, self.fail = threading.Event(), threading.Event(), fail

    def add_canary(self, version, faults):
        self.adding.set()
        assert self.release.wait(30), "the test never let the canary start"
        if self.fail:
            raise self.fail
        super().add_canary(version, faults)


def make(tmp_path, router: Router) -> tuple[Controller, Clock]:
    clock = Clock()
    ctrl = Controller(weighted_steps(tmp_path / "k8s"), Store(tmp_path / "c.db", clock),
                      Platform(router, router, Provider(), Judge()), prometheus_address="http://prom",
                      judge_address="http://judge", clock=clock, emit=lambda line: None)
    return ctrl, clock


def api(ctrl: Controller) -> TestClient:
    """The control API in process, logged in with the token."""
    client = TestClient(controlapi.create(ctrl, TOKEN, None, "http://127.0.0.1:9", "http://127.0.0.1:9"),
                        base_url="http://127.0.0.1:8098", headers={"Authorization": f"Bearer {TOKEN}"})
    return client


def test_while_the_canary_starts_reads_and_abort_answer_and_the_abort_wins(tmp_path):
    router = SlowRouter()
    ctrl, clock = make(tmp_path, router)
    client = api(ctrl)
    starting = threading.Thread(target=lambda: client.post("/rollout", json={"version": "v2"}))
    starting.start()
    try:
        assert router.adding.wait(10)
        shown = client.get("/rollout").json()  # canary get and the dashboard, while the canary is still starting
        assert shown["target"] == "v2" and shown["message"] == "starting canary v2"
        ctrl.reconcile()  # no step runs before the canary is up
        assert router.weight == 0 and ctrl.run is None and ctrl.state.step == 0
        aborted = client.post("/abort")
        assert aborted.status_code == 200 and aborted.json()["phase"] == DEGRADED
        assert not router.release.is_set() and starting.is_alive()  # all of it answered while the start waited
    finally:
        router.release.set()
        starting.join(10)
    assert ctrl.state.aborted and router.canary == "v2"  # the late canary is up, and the abort stands
    assert any("started after the rollout was aborted" in e["line"] for e in ctrl.store.events())
    run_until(ctrl, clock, lambda: router.canary is None)  # the abort's scale-down removes it
    audit = {a["action"]: a for a in ctrl.store.audit_log()}  # each entered when its call returned
    assert audit["rollout"]["after"]["phase"] == audit["abort"]["after"]["phase"] == DEGRADED


def test_a_canary_that_fails_to_start_aborts_the_rollout_with_the_reason(tmp_path):
    router = SlowRouter(fail=RuntimeError("runtime v2 exited with code 1"))
    router.release.set()
    ctrl, _ = make(tmp_path, router)
    with pytest.raises(RuntimeError):
        ctrl.start("v2")
    assert ctrl.state.phase == DEGRADED and "canary v2 did not start: runtime v2 exited" in ctrl.state.message
    assert [r["outcome"] for r in ctrl.store.rollouts()] == ["aborted"]


def test_a_controller_restarted_while_its_canary_started_aborts_and_scales_down_what_started(tmp_path):
    router = Router()
    ctrl, clock = make(tmp_path, router)
    # What a controller killed during add_canary saved; the platform finished the start without it.
    ctrl.store.save(asdict(RolloutState(stable="v1", phase="Progressing", target="v2", starting=True,
                                        message="starting canary v2", history=[{"step": 0, "at": 0, "kind": "start"}])))
    router.add_canary("v2", {})
    restarted = Controller(ctrl.spec, Store(tmp_path / "c.db", clock), ctrl.platform, prometheus_address="http://prom",
                           judge_address="http://judge", clock=clock, emit=lambda line: None)
    saved = restarted.store.load()
    assert saved["aborted"] and not saved["starting"] and "stopped while canary v2 was starting" in saved["message"]
    assert [r["outcome"] for r in restarted.store.rollouts()] == ["aborted"]
    run_until(restarted, restarted.clock, lambda: router.canary is None)  # scaled down at once, not left running


def test_no_second_start_or_retry_while_a_canary_starts(tmp_path):
    router = SlowRouter()
    ctrl, _ = make(tmp_path, router)
    starting = threading.Thread(target=ctrl.start, args=("v2",))
    starting.start()
    try:
        assert router.adding.wait(10)
        ctrl.abort("by hand")
        for control in (lambda: ctrl.start("v2"), ctrl.retry):
            with pytest.raises(ControlError, match="canary v2 is still starting"):
                control()
    finally:
        router.release.set()
        starting.join(10)
    assert not ctrl.store.load()["starting"]
    ctrl.retry()  # once it is up, the aborted rollout may be retried
    assert ctrl.state.phase == "Progressing" and router.calls.count(("add", "v2")) == 1
