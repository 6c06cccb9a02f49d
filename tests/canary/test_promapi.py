"""The one Prometheus client and the engine's provider over it, against an HTTP server answering as Prometheus'
API documents its answers: vectors and scalars shaped as Argo shapes them, every failure told apart."""

import json
import math

import pytest
from fastapi import Response

from canary import promapi
from canary.local import procs
from canary.rollout.interfaces import ProviderError
from canary.rollout.prometheus import PrometheusProvider
from canary.webapi import create_app
from tests.apps import served

ANSWERS = {
    "vector": {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"revision": "a"}, "value": [1.5, "0.99"]}, {"metric": {}, "value": [1.5, "NaN"]}]}},
    "scalar": {"status": "success", "data": {"resultType": "scalar", "result": [1.5, "42"]}},
    "matrix": {"status": "success", "data": {"resultType": "matrix", "result": []}},
    "bad": {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"},
    "headless": {"status": "success"},
}


@pytest.fixture(scope="module")
def prometheus():
    app = create_app("prometheus api test")
    asked = []

    @app.get("/api/v1/query")
    def query(query: str, time: str | None = None):
        asked.append((query, time))
        if query == "text":
            return Response("<html>proxy error</html>", status_code=502, media_type="text/html")
        return Response(json.dumps(ANSWERS[query]), status_code=400 if query == "bad" else 200,
                        media_type="application/json")

    for running in served(app, "prometheus-test"):
        running.asked = asked
        yield running


def test_a_vector_is_a_list_of_floats_and_a_scalar_a_float(prometheus):
    values = PrometheusProvider().query(prometheus.url + "/", "vector")
    assert values[0] == 0.99 and math.isnan(values[1])
    assert PrometheusProvider().query(prometheus.url, "scalar") == 42.0


def test_the_time_of_a_query_is_sent_when_given(prometheus):
    answer = promapi.PrometheusClient().query(prometheus.url, "scalar", at=1234.5)
    assert answer == promapi.Result("scalar", [1.5, "42"]) and prometheus.asked[-1] == ("scalar", "1234.500")


@pytest.mark.parametrize("query, message", [
    ("matrix", "returned a matrix; the query must return a vector or a scalar"),
    ("bad", "the query failed: bad_data: parse error at char 3"),
    ("text", "HTTP 502, not JSON"),
    ("headless", "an answer without a result"),
])
def test_every_odd_answer_is_a_provider_error_that_says_what_came_back(prometheus, query, message):
    with pytest.raises(ProviderError, match=message):
        PrometheusProvider().query(prometheus.url, query)


def test_nothing_listening_is_unreachable_and_the_provider_says_it_did_not_answer():
    address = f"http://127.0.0.1:{procs.free_port()}"
    with pytest.raises(promapi.Unreachable, match="ConnectError"):
        promapi.PrometheusClient().query(address, "up")
    with pytest.raises(ProviderError, match=f"Prometheus at {address} did not answer: ConnectError"):
        PrometheusProvider().query(address, "up")
