"""A real ``mlserver start`` reports each answer with its request id, for the judge's shadow test."""

import pytest

from tests.answer_sink import AnswerSink
from tests.servers.test_mlserver_runtime import infer
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def test_answers_with_a_request_id_are_reported_in_batches(start_mlserver, wine):
    sink = AnswerSink()
    try:
        server = start_mlserver("v2", workers=2, ANSWERS_URL=sink.url, ANSWERS_REVISION="rev2", ANSWERS_TOKEN="t2")
        sent = {}
        for i in range(20):
            response = infer(server, wine.X[i:i + 1], headers={"x-request-id": f"req-{i}"})
            sent[f"req-{i}"] = response.json()["outputs"][0]["data"][0]
        infer(server, wine.X[:1])  # no request id: nothing to join it on, not reported
        wait_until(lambda: len(sink.answers()) >= 20, 20, "20 answers at the sink")
        assert sink.answers() == sent and {b["revision"] for b in sink.batches} == {"rev2"}
        assert set(sink.auth) == {"Bearer t2"}  # the judge takes answers only with its token
    finally:
        sink.close()
