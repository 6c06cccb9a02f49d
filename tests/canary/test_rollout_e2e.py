"""End to end on the real stack (Prometheus, Envoy, MLServer) with the real controller, time-scaled."""

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from canary.client import ControlClient
from tests.canary.conftest import ROOT, RunningStack, loadgen, stack_env

pytestmark = pytest.mark.integration
SCALE = "6"  # a 3-minute analysis in 30 s; the Prometheus windows stay real


class Rig:
    """Stack + controller + 100 rps of load, all real processes."""

    def __init__(self, artifact_root, tmp_path):
        self.env = stack_env(tmp_path / "run", artifact_root, CANARY_CONTROL_PORT=str(_free()))
        self.stack = RunningStack(self.env, tmp_path / "up.log")
        self.tmp = tmp_path
        self.controller = self.start_controller()
        self.load = loadgen(self.stack.gateway, "--rps", "100", "--duration", "300s", out=tmp_path / "lg.json")
        self.client = ControlClient(self.stack.run_dir, user="e2e")

    def start_controller(self) -> subprocess.Popen:
        (self.stack.run_dir / "controller.json").unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, "-m", "canary", "controller", "--time-scale", SCALE],
                                env={**os.environ, **self.env}, cwd=ROOT, stdout=open(self.tmp / "ctl.log", "a"),
                                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not (self.stack.run_dir / "controller.json").exists():
            assert proc.poll() is None and time.monotonic() < deadline, (self.tmp / "ctl.log").read_text()
            time.sleep(0.1)
        return proc

    def wait(self, done, timeout_s=150) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            doc = self.client.get(events=50)
            if done(doc):
                return doc
            time.sleep(0.3)
        raise AssertionError(f"timed out: {json.dumps(doc)[:2000]}")

    def close(self):
        self.load.send_signal(signal.SIGINT)
        self.load.wait(30)
        self.controller.send_signal(signal.SIGTERM)
        self.controller.wait(30)
        self.stack.stop()


def _free():
    from canary import procs

    return procs.free_port()


@pytest.fixture
def rig(artifact_root, tmp_path):
    r = Rig(artifact_root, tmp_path)
    time.sleep(2)
    yield r
    r.close()


def versions_answering(rig, n=40) -> set:
    body = {"inputs": [{"name": "x", "shape": [1, 13], "datatype": "FP64", "data": [13.2, 1.78, 2.14, 11.2, 100, 2.65,
                                                                                   2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]}]}
    return {httpx.post(f"{rig.stack.gateway}/v2/models/wine/infer", json=body).headers["x-model-version"] for _ in range(n)}


def test_healthy_v2_promotes(rig):
    rig.client.post("/rollout", {"version": "v2"})
    doc = rig.wait(lambda d: d["phase"] in ("Healthy", "Degraded"))
    assert doc["phase"] == "Healthy" and doc["stable"] == "v2", doc["message"]
    assert [h["weight"] for h in doc["history"] if h["kind"] == "setWeight"] == [10, 50, 100]
    assert versions_answering(rig) == {"v2"}


def test_v2_with_30_percent_errors_aborts_and_traffic_returns_to_v1(rig):
    rig.client.post("/rollout", {"version": "v2", "faults": {"error_ratio": 0.3}})
    doc = rig.wait(lambda d: d["phase"] in ("Healthy", "Degraded"))
    assert doc["phase"] == "Degraded" and "RolloutAborted: analysis" in doc["message"]
    assert doc["weight"] == 0 and doc["header_routes"] == []
    assert versions_answering(rig) == {"v1"}
    assert any("aborting, canary weight 0" in e["line"] for e in doc["events"])
    rig.wait(lambda d: any("canary v2 scaled down" in e["line"] for e in d["events"]), 30)
    assert rig.stack.client.status()["canary"] is None


def test_added_latency_alone_aborts_on_the_latency_gate(rig):
    rig.client.post("/rollout", {"version": "v2", "faults": {"latency_ms": 400}})
    doc = rig.wait(lambda d: d["phase"] in ("Healthy", "Degraded"))
    assert doc["phase"] == "Degraded" and "latency-p99 failed" in doc["message"], doc["message"]


def test_prometheus_stopped_during_analysis_never_promotes(rig):
    rig.client.post("/rollout", {"version": "v2"})
    rig.wait(lambda d: d["analysis"] is not None)
    prometheus = next(p for p in rig.stack.client.status()["processes"] if p["name"] == "prometheus")
    os.kill(prometheus["pid"], signal.SIGKILL)
    doc = rig.wait(lambda d: d["phase"] in ("Healthy", "Degraded"))
    assert doc["phase"] == "Degraded" and "consecutiveErrors (5) > consecutiveErrorLimit (4)" in doc["message"]
    assert doc["stable"] == "v1"


def test_sigkill_of_the_controller_mid_rollout_resumes_at_the_same_step(rig):
    rig.client.post("/rollout", {"version": "v2"})
    before = rig.wait(lambda d: d["analysis"] and d["analysis"]["metrics"][0]["count"] >= 1)
    rig.controller.kill()
    rig.controller.wait(10)
    assert rig.stack.client.status()["canary_weight"] == 10  # the stack keeps routing meanwhile
    rig.controller = rig.start_controller()
    rig.client = ControlClient(rig.stack.run_dir, user="e2e")
    after = rig.client.get(events=50)
    assert (after["step"], after["weight"]) == (before["step"], before["weight"]) == (2, 10)
    assert any("controller restarted: resuming" in e["line"] for e in after["events"])
    doc = rig.wait(lambda d: d["phase"] in ("Healthy", "Degraded"))
    assert doc["phase"] == "Healthy"


def test_manual_pause_resume_promote_abort_retry(rig):
    c = rig.client
    c.post("/rollout", {"version": "v2"})
    rig.wait(lambda d: d["weight"] == 10)
    c.post("/pause")
    time.sleep(3)
    assert c.get()["phase"] == "Paused" and rig.stack.client.status()["canary_weight"] == 10
    c.post("/resume")
    c.post("/promote")  # skip the first analysis
    rig.wait(lambda d: d["weight"] == 50, 30)
    c.post("/abort")
    doc = c.get()
    assert doc["phase"] == "Degraded" and rig.stack.client.status()["canary_weight"] == 0
    c.post("/retry")
    rig.wait(lambda d: d["weight"] == 10, 30)
    c.post("/promote", {"full": True})
    doc = rig.wait(lambda d: d["phase"] == "Healthy", 30)
    assert doc["stable"] == "v2"
    actions = [a["action"] for a in httpx.get(f"{c.state['api']}/audit").json()]
    assert actions == ["rollout", "pause", "resume", "promote", "abort", "retry", "promote"]


def test_a_change_without_the_token_is_refused_and_nothing_changes(rig):
    api = rig.client.state["api"]
    before = rig.client.get()
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.post(f"{api}/rollout", json={"version": "v2"}, headers=headers)
        assert response.status_code == 401
    after = rig.client.get()
    assert (after["phase"], after["stable"], after["target"]) == (before["phase"], before["stable"], before["target"])
    assert httpx.get(f"{api}/audit").json() == []
    assert rig.stack.client.status()["canary"] is None


def test_fault_flips_the_running_runtime_without_a_restart(rig):
    c = rig.client
    pid = next(p["pid"] for p in rig.stack.client.status()["processes"] if p["name"] == "runtime-v1")
    c.post("/fault", {"version": "v1", "error_ratio": 1.0})
    body = {"inputs": [{"name": "x", "shape": [1, 13], "datatype": "FP64", "data": [1.0] * 13}]}
    assert httpx.post(f"{rig.stack.gateway}/v2/models/wine/infer", json=body).status_code == 500
    c.post("/fault", {"version": "v1", "clear": True})
    assert httpx.post(f"{rig.stack.gateway}/v2/models/wine/infer", json=body).status_code == 200
    assert next(p["pid"] for p in rig.stack.client.status()["processes"] if p["name"] == "runtime-v1") == pid
    with pytest.raises(RuntimeError, match="unknown fault fields"):
        c.post("/fault", {"version": "v1", "error_rate": 1})
