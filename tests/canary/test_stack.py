"""A real 'canary up': Prometheus, Envoy and MLServer runtimes; no mocks."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.canary.conftest import ROOT, RunningStack, alive, loadgen, stack_env, summary

pytestmark = pytest.mark.integration
ROW = [13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]
BODY = {"inputs": [{"name": "features", "shape": [1, 13], "datatype": "FP64", "data": ROW}]}


@pytest.fixture(scope="module")
def stack(artifact_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("stack")
    running = RunningStack(stack_env(folder / "run", artifact_root), folder / "up.log")
    pids = running.child_pids()
    yield running
    assert running.stop() == 0
    assert not [p for p in pids if alive(p)], "a process outlived 'canary up'"


def infer(stack, headers=None) -> httpx.Response:
    return httpx.post(f"{stack.gateway}/v2/models/wine/infer", json=BODY, headers=headers, timeout=10)


def test_all_processes_are_up_and_healthy(stack):
    status = stack.client.status()
    assert {p["name"] for p in status["processes"]} == {"prometheus", "envoy", "runtime-v1"}
    assert all(p["healthy"] for p in status["processes"])
    out = subprocess.run([sys.executable, "-m", "canary", "status"], env={**stack.env}, cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0 and "runtime-v1" in out.stdout and "ready" in out.stdout


def test_inference_through_the_gateway(stack):
    response = infer(stack)
    assert response.status_code == 200
    assert response.headers["x-model-version"] == "v1"
    assert response.json()["outputs"][0]["data"] == ["class_0"]


def test_weights_90_10_and_the_header_route(stack, tmp_path):
    stack.client.add_canary("v2")
    header = [{"name": "canary-header", "match": [{"headerName": "x-canary", "headerValue": {"exact": "always"}}]}]
    stack.client.set_routing(10, header)
    out = tmp_path / "lg.json"
    doc = summary(loadgen(stack.gateway, "--rps", "400", "--duration", "6s", out=out), out)
    assert doc["requests"] == 2400 and doc["success_ratio"] == 1.0
    share = doc["by_version"]["v2"]["requests"] / doc["requests"]
    # Binomial: p = 0.1, n = 2400, sd = 0.0061; 0.07..0.13 is about five sd either side.
    assert 0.07 <= share <= 0.13
    assert {infer(stack, {"x-canary": "always"}).headers["x-model-version"] for _ in range(20)} == {"v2"}


def test_zero_errors_while_weights_flip_20_times_at_200_rps(stack, tmp_path):
    out = tmp_path / "flip.json"
    proc = loadgen(stack.gateway, "--rps", "200", "--duration", "14s", out=out)
    time.sleep(2)
    for i in range(20):
        stack.client.set_routing(50 if i % 2 == 0 else 10)
        time.sleep(0.5)
    doc = summary(proc, out)
    assert doc["requests"] == 2800
    assert doc["status_codes"] == {"200": 2800}, doc["status_codes"]
    assert set(doc["by_version"]) == {"v1", "v2"}


def test_recording_rules_yield_per_version_series(stack):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ratios = {r["metric"]["version"]: float(r["value"][1]) for r in stack.query("mlcanary:success_ratio:rate1m")}
        latency = {r["metric"]["version"]: float(r["value"][1]) for r in stack.query("mlcanary:latency_ms:p99_1m")}
        if {"v1", "v2"} <= ratios.keys() and {"v1", "v2"} <= latency.keys():
            break
        time.sleep(1)
    assert ratios["v1"] == 1.0 and ratios["v2"] == 1.0
    assert 0 < latency["v1"] < 1000 and 0 < latency["v2"] < 1000


def test_a_killed_runtime_is_reported(stack):
    pid = next(p["pid"] for p in stack.client.status()["processes"] if p["name"] == "runtime-v2")
    stack.client.set_routing(0)
    os.kill(pid, signal.SIGKILL)
    time.sleep(1)
    runtime = next(p for p in stack.client.status()["processes"] if p["name"] == "runtime-v2")
    assert runtime["state"] == "exited (-9)" and not runtime["healthy"]
    out = subprocess.run([sys.executable, "-m", "canary", "status"], env={**stack.env}, cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 1 and "NOT READY" in out.stdout
    assert "runtime-v2" in stack.log.read_text() and "exited with code -9" in stack.log.read_text()
    stack.client.remove_canary()
    assert infer(stack).status_code == 200


def test_canary_down_stops_everything(artifact_root, tmp_path):
    running = RunningStack(stack_env(tmp_path / "run", artifact_root), tmp_path / "up.log")
    running.client.add_canary("v2")
    pids = running.child_pids()
    out = subprocess.run([sys.executable, "-m", "canary", "down"], env={**running.env}, cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert running.proc.wait(30) == 0
    assert not [p for p in pids if alive(p)]
    assert not (tmp_path / "run" / "stack.json").exists()


def test_a_killed_supervisor_takes_its_children_along(artifact_root, tmp_path):
    running = RunningStack(stack_env(tmp_path / "run", artifact_root), tmp_path / "up.log")
    pids = running.child_pids()
    running.proc.kill()
    running.proc.wait(10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and [p for p in pids if alive(p)]:
        time.sleep(0.2)
    assert not [p for p in pids if alive(p)]


def test_the_seldon_runtime_behind_the_same_gateway(artifact_root, tmp_path):
    seldon = ROOT / ".venv-seldon" / "bin" / "seldon-core-microservice"
    if not seldon.exists():
        pytest.fail(f"{seldon} is missing: 'make test' builds .venv-seldon first")
    env = stack_env(tmp_path / "run", artifact_root, CANARY_RUNTIME="seldon")
    running = RunningStack(env, tmp_path / "up.log")
    try:
        running.client.add_canary("v2")
        running.client.set_routing(50)
        out = tmp_path / "lg.json"
        doc = summary(loadgen(running.gateway, "--protocol", "seldon", "--rps", "100", "--duration", "3s", out=out), out)
        assert doc["success_ratio"] == 1.0
        assert set(doc["by_version"]) == {"v1", "v2"}
    finally:
        pids = running.child_pids()
        assert running.stop() == 0
    assert not [p for p in pids if alive(p)]
