"""A real ``seldon-core-microservice`` per case: Seldon protocol over REST and gRPC, metrics, faults."""

import grpc
import httpx
import pytest
from seldon_core.proto import prediction_pb2_grpc
from seldon_core.utils import json_to_seldon_message, seldon_message_to_json

from loadgen import datafile
from servers.admin import FAULTS_PATH, READY_PATH
from tests.conftest import TOKEN
from tests.promtext import total
from tests.waiting import wait_until

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def predict(server, payload: dict) -> httpx.Response:
    return httpx.post(f"{server.http}/api/v1.0/predictions", json=payload, timeout=10)


def classes(response: httpx.Response) -> list[str]:
    return [row[0] for row in response.json()["data"]["ndarray"]]


def scrape(server) -> str:
    return httpx.get(f"{server.metrics}/metrics", timeout=5).text


@pytest.fixture(scope="module")
def v1(start_seldon):
    return start_seldon("v1")


@pytest.fixture(scope="module")
def v2(start_seldon):
    return start_seldon("v2")


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_ndarray_answers_like_scikit_learn(request, version, wine, expected_classes):
    server = request.getfixturevalue(version)
    response = predict(server, {"data": {"names": wine.feature_names, "ndarray": wine.X.tolist()}})
    assert response.status_code == 200
    assert classes(response) == expected_classes[version]
    assert response.json()["meta"]["tags"]["model_version"] == version


def test_tensor_payload(v2, wine, expected_classes):
    rows = wine.X[:7]
    response = predict(v2, {"data": {"tensor": {"shape": list(rows.shape), "values": rows.ravel().tolist()}}})
    assert response.status_code == 200
    # Class names are strings, which a Seldon tensor cannot hold: the answer is an ndarray.
    assert classes(response) == expected_classes["v2"][:7]


def test_feature_names_in_another_order_are_honoured(v2, wine, expected_classes):
    order = list(reversed(range(13)))
    names = [wine.feature_names[i] for i in order]
    response = predict(v2, {"data": {"names": names, "ndarray": wine.X[:, order].tolist()}})
    assert response.status_code == 200
    assert classes(response) == expected_classes["v2"]


def test_grpc_predict(v2, wine, expected_classes):
    with grpc.insecure_channel(v2.grpc) as channel:
        stub = prediction_pb2_grpc.ModelStub(channel)
        reply = stub.Predict(json_to_seldon_message({"data": {"ndarray": wine.X[:10].tolist()}}))
        assert [row[0] for row in seldon_message_to_json(reply)["data"]["ndarray"]] == expected_classes["v2"][:10]
        assert reply.meta.tags["model_version"].string_value == "v2"
        with pytest.raises(grpc.RpcError, match="12 features per row|the model expects 13"):
            stub.Predict(json_to_seldon_message({"data": {"ndarray": [wine.X[0, :12].tolist()]}}))


BAD = [
    pytest.param({"data": {"ndarray": [[1, 2, 3]]}}, "3 features per row", id="feature-count"),
    pytest.param({"data": {"ndarray": []}}, "empty batch", id="empty"),
    pytest.param({"data": {"ndarray": [["a"] * 13]}}, "not a rectangular array", id="non-numeric"),
    pytest.param({"data": {"ndarray": [[1.0] * 12 + [None]]}}, "NaN or infinite", id="null-value"),
    pytest.param({"data": {"names": ["x", "y"], "ndarray": [[1, 2]]}}, "feature names do not match", id="names"),
    pytest.param({"data": {"ndarray": [[[1.0] * 13]]}}, "shape [1, 1, 13]", id="3-d"),
]


@pytest.mark.parametrize("payload, message", BAD)
def test_bad_input_is_a_clear_400(v2, payload, message):
    response = predict(v2, payload)
    assert response.status_code == 400
    assert message in response.json()["status"]["info"]


@pytest.mark.parametrize(
    "raw",
    [b"garbage", b"{}", b'{"data": 5}', b"", b'{"data": {"ndarray": 5}}', b'{"data": {}}',
     b'{"data": {"tensor": {"shape": [2, 13], "values": [1]}}}', b'{"data": {"names": 3, "ndarray": [[1]]}}', b"[1, 2]"],
)
def test_malformed_json_is_4xx_and_the_server_keeps_serving(v2, raw, wine):
    response = httpx.post(f"{v2.http}/api/v1.0/predictions", content=raw, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500
    assert predict(v2, {"data": {"ndarray": wine.X[:1].tolist()}}).status_code == 200


def test_custom_metrics_on_the_wrappers_endpoint(v2, wine):
    for _ in range(3):
        predict(v2, {"data": {"ndarray": wine.X[:4].tolist()}})
    predict(v2, {"data": {"ndarray": [[1, 2]]}})

    def exported() -> str | None:
        # Handed to the wrapper in batches (MODEL_METRICS_FLUSH_S, 0.1 s), not with the answer.
        text = scrape(v2)
        return text if total(text, "mlcanary_predictions_total", model_version="v2", model_name="wine") >= 13 else None

    text = wait_until(exported, 5, "the 13 answered rows on the metrics endpoint")
    assert total(text, "mlcanary_inference_requests_total", outcome="invalid_input") >= 1
    assert total(text, "mlcanary_inference_duration_seconds_count", model_version="v2") >= 5
    assert 'mlcanary_model_info{artifact_sha256="' in text and 'runtime="seldon"' in text


def test_fault_admin_needs_the_token(v2):
    url = f"{v2.admin}{FAULTS_PATH}"
    assert httpx.post(url, json={"error_ratio": 1}).status_code == 401
    assert httpx.post(url, json={"error_ratio": 1}, headers={"Authorization": "Bearer no"}).status_code == 401
    assert httpx.post(url, json={"error_ratio": 3}, headers=AUTH).status_code == 422
    assert httpx.post(url, content=b"{bad", headers=AUTH).status_code == 400
    assert httpx.get(url).json()["error_ratio"] == 0.0


def test_fault_toggle_without_restart(v2, wine):
    url = f"{v2.admin}{FAULTS_PATH}"
    before = total(scrape(v2), "mlcanary_faults_injected_total", kind="error")
    try:
        assert httpx.post(url, json={"error_ratio": 1.0}, headers=AUTH).status_code == 200
        codes = [predict(v2, {"data": {"ndarray": wine.X[:1].tolist()}}).status_code for _ in range(10)]
        assert codes == [500] * 10
        assert httpx.get(f"{v2.http}/health/ping").status_code == 200
        # Under 100% errors, with no successful call since: the errors are exported already.
        text = scrape(v2)
        assert total(text, "mlcanary_faults_injected_total", kind="error") - before == 10
        assert total(text, "mlcanary_inference_requests_total", outcome="injected_error") >= 10
    finally:
        httpx.post(url, json={"clear": True}, headers=AUTH)
    assert predict(v2, {"data": {"ndarray": wine.X[:1].tolist()}}).status_code == 200
    assert total(scrape(v2), "mlcanary_faults_injected_total", kind="error") - before == 10  # none counted twice


def test_wrong_predictions_are_200s(v2, wine, expected_classes):
    url = f"{v2.admin}{FAULTS_PATH}"
    httpx.post(url, json={"clear": True, "wrong_ratio": 1.0}, headers=AUTH)
    try:
        response = predict(v2, {"data": {"ndarray": wine.X.tolist()}})
    finally:
        httpx.post(url, json={"clear": True}, headers=AUTH)
    assert response.status_code == 200
    assert all(a != b for a, b in zip(classes(response), expected_classes["v2"]))


def test_unready_fails_readiness_only(v2, wine):
    url = f"{v2.admin}{FAULTS_PATH}"
    httpx.post(url, json={"clear": True, "unready": True}, headers=AUTH)
    try:
        assert httpx.get(f"{v2.http}/health/status").status_code == 503
        assert httpx.get(f"{v2.admin}{READY_PATH}").status_code == 503
        assert httpx.get(f"{v2.http}/health/ping").status_code == 200
        assert predict(v2, {"data": {"ndarray": wine.X[:1].tolist()}}).status_code == 200
    finally:
        httpx.post(url, json={"clear": True}, headers=AUTH)
    assert httpx.get(f"{v2.http}/health/status").status_code == 200


def test_error_ratio_from_the_environment(start_seldon, wine):
    server = start_seldon("v2", FAULT_ERROR_RATIO="0.5", FAULT_SEED="4")
    codes = [predict(server, {"data": {"ndarray": wine.X[:1].tolist()}}).status_code for _ in range(200)]
    assert set(codes) == {200, 500}
    assert 0.4 <= codes.count(500) / len(codes) <= 0.6
    assert httpx.get(f"{server.http}/health/ping").status_code == 200


def test_the_wrappers_metadata_names_the_model_and_its_features(v2, wine):
    doc = httpx.get(f"{v2.http}/api/v1.0/metadata", timeout=5).json()
    assert doc["name"] == "wine" and doc["versions"] == ["v2"]  # the artifact's name: MODEL_NAME is not set
    assert datafile.feature_names_in("seldon", doc) == wine.feature_names
