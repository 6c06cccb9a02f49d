"""Feedback on a real ``mlserver start``: counted per version as correct or incorrect, bad feedback a 4xx counting nothing."""

import httpx
import pytest
from hypothesis import strategies as st

from servers.admin import FAULTS_PATH
from servers.feedback import FEEDBACK_PATH
from tests.conftest import TOKEN
from tests.json_fuzz import near, post_fuzzed
from tests.promtext import total
from tests.servers.test_mlserver_runtime import infer, scrape

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server(start_mlserver):
    return start_mlserver("v2", workers=2)


def counts(server) -> tuple[float, float]:
    text = scrape(server)
    return tuple(total(text, "mlcanary_feedback_total", model_version="v2", outcome=o) for o in ("correct", "incorrect"))


def test_feedback_on_wrong_answers_counts_them_incorrect(server, wine):
    truth = wine.truth()[:20]
    httpx.post(f"{server.http}{FAULTS_PATH}", json={"clear": True, "wrong_ratio": 1.0}, headers=AUTH)
    try:
        wrong = infer(server, wine.X[:10]).json()["outputs"][0]["data"]
    finally:
        httpx.post(f"{server.http}{FAULTS_PATH}", json={"clear": True}, headers=AUTH)
    right = infer(server, wine.X[10:20]).json()["outputs"][0]["data"]
    before = counts(server)
    for answers, rows in ((wrong, truth[:10]), (right, truth[10:])):
        response = httpx.post(f"{server.http}{FEEDBACK_PATH}", json={"prediction": answers, "truth": rows})
        assert response.status_code == 200, response.text
    after = counts(server)
    expected_right = sum(a == t for a, t in zip(right, truth[10:]))
    assert after[0] - before[0] == expected_right and after[1] - before[1] == 20 - expected_right
    assert expected_right >= 9  # v2 is right on these rows; the wrong-answer fault made every one of the first ten wrong


@pytest.mark.parametrize("body, status, words", [
    ({"prediction": ["class_0"], "truth": ["class_9"]}, 400, "unknown classes ['class_9']"),
    ({"prediction": ["class_0", "class_1"], "truth": ["class_0"]}, 422, "one each per row"),
    ({"prediction": [], "truth": []}, 422, "at least 1"),
    ({"truth": ["class_0"]}, 422, "prediction"),
    ({"prediction": "class_0", "truth": "class_0", "model_version": "v1"}, 409, "route it by the answer's x-model-version"),
    ({"prediction": "class_0", "truth": "class_0", "reward": 1}, 422, "reward"),
])
def test_bad_feedback_is_a_4xx_and_counts_nothing(server, body, status, words):
    before = counts(server)
    response = httpx.post(f"{server.http}{FEEDBACK_PATH}", json=body)
    assert response.status_code == status and words in response.text, response.text
    assert httpx.post(f"{server.http}{FEEDBACK_PATH}", content=b'{"prediction": [').status_code == 422
    assert counts(server) == before


def test_fuzzed_feedback_is_never_a_5xx_and_a_refused_one_counts_nothing(server):
    labels = st.lists(st.sampled_from(["class_0", "class_1", "class_2", "class_9", ""]), max_size=3)
    shape = {"prediction": labels | st.text(max_size=8), "truth": labels, "model_version": st.sampled_from(["v2", "v1"]),
             "request_id": st.text(max_size=300)}
    post_fuzzed(f"{server.http}{FEEDBACK_PATH}", near(shape), lambda: counts(server))
    assert infer(server, [[13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]]).status_code == 200


def test_one_row_may_be_sent_as_strings(server):
    before = counts(server)
    response = httpx.post(f"{server.http}{FEEDBACK_PATH}", json={"prediction": "class_1", "truth": "class_1",
                                                                 "model_version": "v2", "request_id": "r-1"})
    assert response.json() == {"model_version": "v2", "correct": 1, "incorrect": 0}
    assert counts(server) == (before[0] + 1, before[1])
