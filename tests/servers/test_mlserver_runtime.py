"""A real ``mlserver start`` per case: REST, gRPC, metrics, faults and bad input."""

import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from canary.polling import wait_until
from loadgen import datafile
from servers.admin import FAULTS_PATH, READY_PATH
from tests.conftest import TOKEN
from tests.promtext import total

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def v2_request(rows) -> dict:
    rows = np.asarray(rows, dtype=float)
    return {"inputs": [{"name": "features", "shape": list(rows.shape), "datatype": "FP64", "data": rows.ravel().tolist()}]}


def infer(server, rows, **kwargs) -> httpx.Response:
    return httpx.post(f"{server.http}/v2/models/wine/infer", json=v2_request(rows), timeout=10, **kwargs)


def scrape(server) -> str:
    return httpx.get(f"{server.metrics}/metrics", timeout=5).text


@pytest.fixture(scope="module")
def v1(start_mlserver):
    return start_mlserver("v1")


@pytest.fixture(scope="module")
def v2(start_mlserver):
    return start_mlserver("v2")


@pytest.fixture(scope="module")
def v2_workers(start_mlserver):
    return start_mlserver("v2", workers=2)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_rest_answers_every_row_like_scikit_learn(request, version, wine, expected_classes):
    server = request.getfixturevalue(version)
    response = infer(server, wine.X)
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == version
    assert response.headers["x-model-version"] == version
    assert body["outputs"][0]["data"] == expected_classes[version]


def test_standard_v2_http_client(v2, wine, expected_classes):
    client = httpclient.InferenceServerClient(v2.http.removeprefix("http://"))
    tensor = httpclient.InferInput("features", list(wine.X[:5].shape), "FP32")
    # MLServer's REST side speaks JSON only, not Triton's binary-tensor extension.
    tensor.set_data_from_numpy(wine.X[:5].astype(np.float32), binary_data=False)
    wanted = httpclient.InferRequestedOutput("predicted_class", binary_data=False)
    result = client.infer("wine", [tensor], outputs=[wanted])
    assert [str(c) for c in result.as_numpy("predicted_class").ravel()] == expected_classes["v2"][:5]
    assert result.get_response()["model_version"] == "v2"


def test_grpc_inference(v2, wine, expected_classes):
    client = grpcclient.InferenceServerClient(v2.grpc)
    tensor = grpcclient.InferInput("features", list(wine.X.shape), "FP64")
    tensor.set_data_from_numpy(wine.X)
    result = client.infer("wine", [tensor])
    assert [c.decode() for c in result.as_numpy("predicted_class").ravel()] == expected_classes["v2"]
    assert result.get_response().model_version == "v2"


def test_grpc_nan_is_invalid_argument(v2, wine):
    client = grpcclient.InferenceServerClient(v2.grpc)
    rows = wine.X[:2].copy()
    rows[1, 4] = np.nan
    tensor = grpcclient.InferInput("features", list(rows.shape), "FP64")
    tensor.set_data_from_numpy(rows)
    with pytest.raises(InferenceServerException, match="NaN or infinite value at row 1, feature 4") as info:
        client.infer("wine", [tensor])
    assert "INVALID_ARGUMENT" in str(info.value.status())


BAD_BODIES = [
    pytest.param({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}, "3 features", id="feature-count"),
    pytest.param({"inputs": [{"name": "x", "shape": [0, 13], "datatype": "FP64", "data": []}]}, "empty batch", id="empty-batch"),
    pytest.param({"inputs": [{"name": "x", "shape": [1, 13], "datatype": "BYTES", "data": ["a"] * 13}]}, "datatype BYTES", id="datatype"),
    pytest.param({"inputs": [{"name": "x", "shape": [13], "datatype": "FP64", "data": list(range(13))}]}, "shape [13]", id="shape"),
    pytest.param({"inputs": [{"name": "x", "shape": [2, 13], "datatype": "FP64", "data": list(range(13))}]}, "needs 26", id="data-length"),
    pytest.param({"inputs": [{"name": "x", "shape": [1, 13], "datatype": "FP64", "data": ["a"] + list(range(12))}]}, "not a rectangular", id="string-value"),
    pytest.param({"inputs": []}, "expected exactly one tensor", id="no-inputs"),
]


@pytest.mark.parametrize("body, message", BAD_BODIES)
def test_bad_input_is_a_clear_400(v2, body, message):
    response = httpx.post(f"{v2.http}/v2/models/wine/infer", json=body, timeout=10)
    assert response.status_code == 400
    assert message in response.json()["error"]


@pytest.mark.parametrize("raw", [b"not json", b'{"inputs": 5}', b"", b'{"inputs":[{"name":"x"}]}'])
def test_malformed_requests_are_4xx_and_the_server_keeps_serving(v2, raw, wine):
    response = httpx.post(
        f"{v2.http}/v2/models/wine/infer", content=raw, headers={"content-type": "application/json"}, timeout=10
    )
    assert 400 <= response.status_code < 500
    assert infer(v2, wine.X[:1]).status_code == 200


def requests_by_worker(server) -> dict[int, float]:
    """Our request counter per process, from the multiprocess files MLServer's workers write."""
    from prometheus_client.mmap_dict import MmapedDict

    out = {}
    for path in (server.process.log_path.parent / "repo" / ".metrics").glob("counter_*.db"):
        values = MmapedDict.read_all_values_from_file(str(path))
        total = sum(entry[1] for entry in values if "mlcanary_inference_requests_total" in entry[0])
        if total:
            out[int(path.stem.rsplit("_", 1)[1])] = total
    return out


def test_two_workers_both_serve_and_both_count(v2_workers, wine):
    for _ in range(20):
        assert infer(v2_workers, wine.X[:3]).status_code == 200
    # Each worker hands its tallies to the shared files every MODEL_METRICS_FLUSH_S (0.1 s).
    assert wait_until(lambda: len(requests_by_worker(v2_workers)) == 2, 5), f"requests reached only {requests_by_worker(v2_workers)}"
    counted = requests_by_worker(v2_workers)
    assert total(scrape(v2_workers), "mlcanary_inference_requests_total", model_name="wine", outcome="ok") >= sum(counted.values())


@pytest.mark.parametrize("server_name", ["v2", "v2_workers"])
def test_custom_metrics_are_on_the_metrics_port(request, server_name, wine):
    server = request.getfixturevalue(server_name)
    rows = lambda: total(scrape(server), "mlcanary_predictions_total", model_name="wine", model_version="v2")  # noqa: E731
    before = rows()
    for _ in range(4):
        assert infer(server, wine.X[:3]).status_code == 200
    infer(server, [[1.0, 2.0]])
    if server_name == "v2":  # one process: the scrape itself hands every tally over
        assert rows() - before == 12
    else:  # workers hand theirs to the shared files every MODEL_METRICS_FLUSH_S (0.1 s)
        assert wait_until(lambda: rows() - before == 12, 5), rows() - before
    text = scrape(server)
    labels = 'model_name="wine",model_version="v2"'
    assert f'mlcanary_inference_requests_total{{{labels},outcome="ok"}}' in text
    assert f'mlcanary_inference_requests_total{{{labels},outcome="invalid_input"}}' in text
    assert f"mlcanary_inference_duration_seconds_bucket{{le=\"0.005\",{labels}}}" in text
    assert 'mlcanary_model_info{artifact_sha256="' in text and 'runtime="mlserver"' in text


def test_fault_changes_need_the_token(v2):
    url = f"{v2.http}{FAULTS_PATH}"
    assert httpx.post(url, json={"error_ratio": 1.0}).status_code == 401
    assert httpx.post(url, json={"error_ratio": 1.0}, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.get(url).json()["error_ratio"] == 0.0
    assert httpx.post(url, json={"error_ratio": 7}, headers=AUTH).status_code == 422


@pytest.mark.parametrize("server_name", ["v2", "v2_workers"])
def test_fault_toggle_at_runtime_reaches_every_worker(request, server_name, wine):
    server = request.getfixturevalue(server_name)
    url = f"{server.http}{FAULTS_PATH}"
    before = total(scrape(server), "mlcanary_faults_injected_total", kind="error")
    try:
        assert httpx.post(url, json={"error_ratio": 1.0}, headers=AUTH).status_code == 200
        codes = [infer(server, wine.X[:1]).status_code for _ in range(20)]
        assert codes == [500] * 20
        assert httpx.get(f"{server.http}/v2/health/ready").status_code == 200
        assert httpx.get(f"{server.metrics}/metrics").status_code == 200
    finally:
        assert httpx.post(url, json={"clear": True}, headers=AUTH).status_code == 200
    assert [infer(server, wine.X[:1]).status_code for _ in range(20)] == [200] * 20
    after = total(scrape(server), "mlcanary_faults_injected_total", kind="error")
    assert after - before == 20


def test_wrong_predictions_are_200s_with_other_classes(v2, wine, expected_classes):
    url = f"{v2.http}{FAULTS_PATH}"
    httpx.post(url, json={"clear": True, "wrong_ratio": 1.0}, headers=AUTH)
    try:
        response = infer(v2, wine.X)
    finally:
        httpx.post(url, json={"clear": True}, headers=AUTH)
    assert response.status_code == 200
    assert all(a != b for a, b in zip(response.json()["outputs"][0]["data"], expected_classes["v2"]))


def test_added_latency_shows_in_the_histogram(v2, wine):
    url = f"{v2.http}{FAULTS_PATH}"
    httpx.post(url, json={"clear": True, "latency_ms": 300}, headers=AUTH)
    try:
        response = infer(v2, wine.X[:1])
    finally:
        httpx.post(url, json={"clear": True}, headers=AUTH)
    assert response.status_code == 200
    text = scrape(v2)
    v2 = {"model_name": "wine", "model_version": "v2"}
    slow = total(text, "mlcanary_inference_duration_seconds_count", **v2) - total(
        text, "mlcanary_inference_duration_seconds_bucket", le="0.25", **v2
    )
    assert slow >= 1
    assert total(text, "mlcanary_faults_injected_total", kind="latency") >= 1


def test_unready_fails_readiness_while_liveness_and_inference_hold(v2, wine):
    url = f"{v2.http}{FAULTS_PATH}"
    httpx.post(url, json={"clear": True, "unready": True}, headers=AUTH)
    try:
        assert httpx.get(f"{v2.http}{READY_PATH}").status_code == 503
        assert httpx.get(f"{v2.http}/v2/health/live").status_code == 200
        assert infer(v2, wine.X[:1]).status_code == 200
    finally:
        httpx.post(url, json={"clear": True}, headers=AUTH)
    assert httpx.get(f"{v2.http}{READY_PATH}").status_code == 200


def test_error_ratio_from_the_environment(start_mlserver, wine):
    server = start_mlserver("v2", FAULT_ERROR_RATIO="0.5", FAULT_SEED="3")
    codes = [infer(server, wine.X[:1]).status_code for _ in range(300)]
    assert set(codes) == {200, 500}
    assert 0.4 <= codes.count(500) / len(codes) <= 0.6
    assert httpx.get(f"{server.http}/v2/health/live").status_code == 200
    assert httpx.get(f"{server.http}{READY_PATH}").status_code == 200
    text = scrape(server)
    assert total(text, "mlcanary_faults_injected_total", kind="error") == codes.count(500)


def test_model_metadata_names_the_features_the_load_generator_checks_a_file_against(v2, wine):
    doc = httpx.get(f"{v2.http}/v2/models/wine", timeout=5).json()
    assert doc["name"] == "wine" and doc["inputs"][0]["shape"] == [-1, 13]
    assert doc["inputs"][0]["parameters"]["feature_names"] == wine.feature_names
    assert datafile.published_features(datafile.metadata_url(v2.http, "v2", "wine"), "v2", {}, 5) == wine.feature_names
    with pytest.raises(ValueError, match="answers 404: the target serves no such model; set --model"):
        datafile.published_features(datafile.metadata_url(v2.http, "v2", "cancer"), "v2", {}, 5)
