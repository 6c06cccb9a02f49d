"""Each built image, run as a real container through the Docker SDK (CI: Podman's socket): it serves, exports
metrics, obeys the fault variables and runs as non-root. Run by 'make test-images', after the images are built."""

import os

import httpx
import pytest

from images.containers import Containers, wait_exit, wait_healthy
from images.engine import connect, reference
from images.smoke import ROW, V2_BODY, free_port, scrape, uid

pytestmark = pytest.mark.integration

TAG = os.environ.get("ML_CANARY_IMAGE_TAG", "test")


@pytest.fixture
def box():
    """Containers started read-only with a tmpfs /tmp, as Kubernetes runs them; all removed at the end."""
    client = connect()
    with Containers(client) as containers:
        yield containers


def test_mlserver_image_serves_v2_with_metrics_and_faults(box):
    http, metrics = free_port(), free_port()
    container = box.run(reference("mlserver", "", TAG), {http: 8080, metrics: 8082}, {"MODEL_VERSION": "v2"})
    wait_healthy(container)
    response = httpx.post(f"http://127.0.0.1:{http}/v2/models/wine/infer", json=V2_BODY)
    assert response.status_code == 200 and response.json()["model_version"] == "v2"
    assert response.json()["outputs"][0]["data"] == ["class_0"]
    text = httpx.get(f"http://127.0.0.1:{metrics}/metrics").text
    assert 'mlcanary_predictions_total{model_name="wine",model_version="v2",predicted_class="class_0"} 1.0' in text
    assert uid(container) == "10001"
    assert box.client.images.get(reference("mlserver", "", TAG)).labels["org.opencontainers.image.version"] == TAG


def test_mlserver_image_fault_variables(box):
    http = free_port()
    wait_healthy(box.run(reference("mlserver", "", TAG), {http: 8080}, {"FAULT_ERROR_RATIO": "1"}))
    assert {httpx.post(f"http://127.0.0.1:{http}/v2/models/wine/infer", json=V2_BODY).status_code for _ in range(5)} == {500}
    assert httpx.get(f"http://127.0.0.1:{http}/v2/health/live").status_code == 200


def test_seldon_image_serves_with_metrics_and_faults(box):
    http, metrics = free_port(), free_port()
    container = box.run(reference("seldon", "", TAG), {http: 9000, metrics: 6000},
                        {"MODEL_VERSION": "v2", "FAULT_WRONG_RATIO": "1", "PREDICTIVE_UNIT_IMAGE": "v2"})
    wait_healthy(container)
    response = httpx.post(f"http://127.0.0.1:{http}/api/v1.0/predictions", json={"data": {"ndarray": [ROW]}})
    assert response.status_code == 200 and response.json()["meta"]["tags"]["model_version"] == "v2"
    assert response.json()["data"]["ndarray"] == [["class_1"]]  # a wrong class, on purpose
    text = scrape(f"http://127.0.0.1:{metrics}/metrics", "mlcanary_faults_injected_total{")
    assert "mlcanary_faults_injected_total{" in text and 'model_version="v2"' in text
    assert uid(container) == "10001"


def test_loadgen_image_drives_the_runtime(box):
    http = free_port()
    wait_healthy(box.run(reference("mlserver", "", TAG), {http: 8080}))
    code, out = wait_exit(box.run(reference("loadgen", "", TAG), command=[
        "--target", f"http://127.0.0.1:{http}", "--rps", "20", "--duration", "3s", "--quiet"], host_network=True))
    assert code == 0, out
    assert "v1" in out and "100.00%" in out
