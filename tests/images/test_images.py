"""Each built image, run as a real container under Podman: it serves, exports metrics, obeys the
fault variables and runs as non-root. Run by 'make test-images' (CI), after the images are built."""

import json
import os
import subprocess
import time

import httpx
import pytest

from canary.local.procs import free_port

TAG = os.environ.get("ML_CANARY_IMAGE_TAG", "test")
# 'docker build -t ml-canary-x' through Podman's socket names the image docker.io/library/ml-canary-x.
PREFIX = os.environ.get("ML_CANARY_IMAGE_PREFIX", "docker.io/library/ml-canary-")
ROW = [13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]


def podman(*args: str, check: bool = True) -> str:
    out = subprocess.run(["podman", *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout.strip()


@pytest.fixture
def run_container():
    """Start containers read-only with a /tmp tmpfs, as Kubernetes runs them; remove them by id."""
    ids = []

    def run(image: str, ports: dict[int, int], env: dict[str, str] | None = None) -> str:
        args = ["run", "-d", "--read-only", "--tmpfs", "/tmp"]
        for host, inside in ports.items():
            args += ["-p", f"127.0.0.1:{host}:{inside}"]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        cid = podman(*args, f"{PREFIX}{image}:{TAG}")
        ids.append(cid)
        return cid

    yield run
    for cid in ids:
        podman("rm", "-f", cid, check=False)


def wait_ok(url: str, cid: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready:\n{podman('logs', cid, check=False)[-3000:]}")


def test_mlserver_image_serves_v2_with_metrics_and_faults(run_container):
    http, metrics = free_port(), free_port()
    cid = run_container("mlserver", {http: 8080, metrics: 8082}, {"MODEL_VERSION": "v2"})
    wait_ok(f"http://127.0.0.1:{http}/v2/models/wine/ready", cid)
    body = {"inputs": [{"name": "x", "shape": [1, 13], "datatype": "FP64", "data": ROW}]}
    response = httpx.post(f"http://127.0.0.1:{http}/v2/models/wine/infer", json=body)
    assert response.status_code == 200 and response.json()["model_version"] == "v2"
    assert response.json()["outputs"][0]["data"] == ["class_0"]
    text = httpx.get(f"http://127.0.0.1:{metrics}/metrics").text
    assert 'mlcanary_predictions_total{model_name="wine",model_version="v2",predicted_class="class_0"} 1.0' in text
    assert podman("exec", cid, "id", "-u") == "10001"
    labels = json.loads(podman("inspect", cid, "--format", "{{json .Config.Labels}}"))
    assert labels["org.opencontainers.image.version"] == TAG


def test_mlserver_image_fault_variables(run_container):
    http = free_port()
    cid = run_container("mlserver", {http: 8080}, {"FAULT_ERROR_RATIO": "1"})
    wait_ok(f"http://127.0.0.1:{http}/v2/health/live", cid)
    body = {"inputs": [{"name": "x", "shape": [1, 13], "datatype": "FP64", "data": ROW}]}
    assert {httpx.post(f"http://127.0.0.1:{http}/v2/models/wine/infer", json=body).status_code for _ in range(5)} == {500}
    assert httpx.get(f"http://127.0.0.1:{http}/v2/health/live").status_code == 200


def test_seldon_image_serves_with_metrics_and_faults(run_container):
    http, metrics = free_port(), free_port()
    cid = run_container("seldon", {http: 9000, metrics: 6000}, {"MODEL_VERSION": "v2", "FAULT_WRONG_RATIO": "1",
                                                              "PREDICTIVE_UNIT_IMAGE": "v2"})
    wait_ok(f"http://127.0.0.1:{http}/health/status", cid)
    response = httpx.post(f"http://127.0.0.1:{http}/api/v1.0/predictions", json={"data": {"ndarray": [ROW]}})
    assert response.status_code == 200 and response.json()["meta"]["tags"]["model_version"] == "v2"
    assert response.json()["data"]["ndarray"] == [["class_1"]]  # a wrong class, on purpose
    text = httpx.get(f"http://127.0.0.1:{metrics}/metrics").text
    assert "mlcanary_faults_injected_total{" in text and 'model_version="v2"' in text
    assert podman("exec", cid, "id", "-u") == "10001"


def test_loadgen_image_drives_the_runtime(run_container):
    http = free_port()
    cid = run_container("mlserver", {http: 8080})
    wait_ok(f"http://127.0.0.1:{http}/v2/models/wine/ready", cid)
    out = subprocess.run(["podman", "run", "--rm", "--read-only", "--network", "host", f"{PREFIX}loadgen:{TAG}",
                          "--target", f"http://127.0.0.1:{http}", "--rps", "20", "--duration", "3s", "--quiet"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "v1" in out.stdout and "100.00%" in out.stdout
