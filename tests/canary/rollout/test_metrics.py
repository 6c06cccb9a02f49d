"""The controller's /metrics: Argo's rollout_info and analysis_run_metric_phase, the step, the weight, reconcile
timing and errors, read from the state at each scrape, through the real control API."""

from fastapi.testclient import TestClient

from canary.local import controlapi
from canary.rollout.metrics import ControllerMetrics
from tests.canary.rollout.test_converge import Rig
from tests.promtext import total


def scrape(rig: Rig, metrics: ControllerMetrics) -> str:
    app = controlapi.create(rig.ctrl, "t", None, "http://127.0.0.1:9", "http://127.0.0.1:9", metrics.registry)
    response = TestClient(app, base_url="http://127.0.0.1:8098").get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return response.text


def test_the_rollout_and_its_analysis_as_argo_names_them(tmp_path):
    rig = Rig(tmp_path)
    metrics = ControllerMetrics(rig.ctrl, "ml-canary")
    rig.act(lambda c: c.start("v2"))
    rig.run(3)  # weight 10, the judge's analysis running
    text = scrape(rig, metrics)
    where = {"namespace": "ml-canary", "name": "wine"}
    assert total(text, "rollout_info", phase="Progressing", strategy="canary", **where) == 1
    assert total(text, "mlcanary_rollout_canary_weight", **where) == 10
    assert total(text, "mlcanary_rollout_step", **where) == rig.ctrl.state.step
    running = {"namespace": "ml-canary", "name": rig.ctrl.run.name, "type": "Web", "dry_run": "false"}
    assert total(text, "analysis_run_metric_phase", metric="judge", phase="Running", **running) == 1
    assert total(text, "analysis_run_metric_phase", metric="judge", phase="Failed", **running) == 0
    rig.judge.decision = "fail"
    rig.run(3)
    text = scrape(rig, metrics)  # the run ended: its verdicts stay on show, as Argo keeps the AnalysisRun
    assert total(text, "rollout_info", phase="Degraded", **where) == 1
    assert total(text, "analysis_run_metric_phase", metric="judge", phase="Failed", type="Web") == 1
    assert total(text, "analysis_run_info", phase="Failed", namespace="ml-canary") == 1


def test_reconcile_timing_errors_and_drift_repairs_are_counted(tmp_path, monkeypatch):
    from canary.cli import rollout as cli

    monkeypatch.setattr(cli.time, "sleep", lambda s: None)
    rig = Rig(tmp_path)
    metrics = ControllerMetrics(rig.ctrl, "ml-canary")
    rig.cluster.alive["v0"] = True  # a version left running: found by the first look, repaired at the second
    rig.ctrl.looks.every_s = 0  # a look at every pass
    cli._loop(rig.ctrl, Flag([False, False, False, True]), 0, metrics)
    text = scrape(rig, metrics)
    assert total(text, "rollout_reconcile_count", namespace="ml-canary", name="wine") == 3
    assert total(text, "mlcanary_rollout_drift_repairs_total", name="wine") == 1
    assert total(text, "rollout_reconcile_error", name="wine") == 0  # Argo's name: no _total

    def broken():
        raise RuntimeError("the stack is busy")

    rig.ctrl.reconcile = broken
    cli._loop(rig.ctrl, Flag([False, True]), 0, metrics)
    assert total(scrape(rig, metrics), "rollout_reconcile_error", name="wine") == 1


class Flag:
    """procs.StopFlag's interface: true once stopped, here after the given passes."""

    def __init__(self, values: list[bool]):
        self.values = iter(values)

    def __bool__(self) -> bool:
        return next(self.values)
