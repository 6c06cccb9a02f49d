"""The Seldon wrapper runtime reports each answer with its request id, for the judge's shadow test."""

import httpx
import pytest

from tests.answer_sink import AnswerSink
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def test_answers_with_a_request_id_are_reported(start_seldon, wine, tmp_path):
    sink = AnswerSink()
    (tmp_path / "token").write_text("t1\n")  # as the pod mounts Secret ml-canary-answers
    try:
        server = start_seldon("v1", ANSWERS_URL=sink.url, ANSWERS_REVISION="rev1", ANSWERS_TOKEN_FILE=str(tmp_path / "token"))
        sent = {}
        for i in range(10):
            response = httpx.post(f"{server.http}/api/v1.0/predictions", json={"data": {"ndarray": wine.X[i:i + 1].tolist()}},
                                  headers={"x-request-id": f"s-{i}"}, timeout=10)
            sent[f"s-{i}"] = response.json()["data"]["ndarray"][0][0]
        wait_until(lambda: len(sink.answers()) >= 10, 20, "10 answers at the sink")
        assert sink.answers() == sent and {b["revision"] for b in sink.batches} == {"rev1"}
        assert set(sink.auth) == {"Bearer t1"}
    finally:
        sink.close()
