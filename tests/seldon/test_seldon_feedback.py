"""Feedback through the wrapper's own API (``/api/v1.0/feedback``): counted per version, bad feedback a 4xx counting nothing."""

import httpx
import pytest
from hypothesis import strategies as st

from servers.admin import FAULTS_PATH
from tests.conftest import TOKEN
from tests.json_fuzz import near, post_fuzzed
from tests.promtext import total
from tests.seldon.test_seldon_runtime import classes, predict, scrape

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def v2(start_seldon):
    return start_seldon("v2")


def counts(server) -> tuple[float, float]:
    text = scrape(server)
    return tuple(total(text, "mlcanary_feedback_total", model_version="v2", outcome=o) for o in ("correct", "incorrect"))


def feedback(server, answer: httpx.Response, truth: list[str]) -> httpx.Response:
    """What a labelling job sends: the request, the answer as it came back, the true classes."""
    body = {"response": answer.json(), "truth": {"data": {"ndarray": [[t] for t in truth]}}, "reward": 0}
    return httpx.post(f"{server.http}/api/v1.0/feedback", json=body, timeout=10)


def test_feedback_on_wrong_answers_counts_them_incorrect(v2, wine):
    truth = wine.truth()[:10]
    httpx.post(f"{v2.admin}{FAULTS_PATH}", json={"clear": True, "wrong_ratio": 1.0}, headers=AUTH)
    try:
        wrong = predict(v2, {"data": {"ndarray": wine.X[:10].tolist()}})
    finally:
        httpx.post(f"{v2.admin}{FAULTS_PATH}", json={"clear": True}, headers=AUTH)
    right = predict(v2, {"data": {"ndarray": wine.X[:10].tolist()}})
    before = counts(v2)
    assert feedback(v2, wrong, truth).status_code == 200
    response = feedback(v2, right, truth)
    assert response.status_code == 200, response.text
    assert response.json()["jsonData"]["model_version"] == "v2"
    expected_right = sum(a == t for a, t in zip(classes(right), truth))
    assert expected_right >= 9
    assert counts(v2) == (before[0] + expected_right, before[1] + 10 + 10 - expected_right)


@pytest.mark.parametrize("body, words", [
    ({"truth": {"data": {"ndarray": [["class_0"]]}}}, "response.data.ndarray"),
    ({"response": {"data": {"ndarray": [["class_0"]]}}, "truth": {"data": {"ndarray": [["class_7"]]}}}, "unknown classes"),
    ({"response": {"data": {"ndarray": [["class_0"], ["class_1"]]}}, "truth": {"data": {"ndarray": [["class_0"]]}}},
     "one each per row"),
])
def test_bad_feedback_is_a_400_and_counts_nothing(v2, wine, body, words):
    predict(v2, {"data": {"ndarray": wine.X[:1].tolist()}})  # the counters exist
    before = counts(v2)
    response = httpx.post(f"{v2.http}/api/v1.0/feedback", json=body, timeout=10)
    assert response.status_code == 400 and words in response.text, response.text
    assert counts(v2) == before


def test_fuzzed_feedback_is_never_a_5xx_and_a_refused_one_counts_nothing(v2, wine):
    predict(v2, {"data": {"ndarray": wine.X[:1].tolist()}})  # the counters exist
    rows = st.lists(st.lists(st.sampled_from(["class_0", "class_1", "class_9", ""]), max_size=2), max_size=3)
    data = near({"data": near({"ndarray": rows, "names": st.lists(st.text(max_size=5), max_size=2)})})
    shape = {"response": data, "truth": data, "request": data, "reward": st.floats(allow_nan=False)}
    post_fuzzed(f"{v2.http}/api/v1.0/feedback", near(shape), lambda: counts(v2))
    assert predict(v2, {"data": {"ndarray": wine.X[:1].tolist()}}).status_code == 200


def test_feedback_about_another_versions_answer_is_refused(v2, wine):
    answer = predict(v2, {"data": {"ndarray": wine.X[:1].tolist()}}).json()
    answer["meta"]["tags"]["model_version"] = "v1"
    body = {"response": answer, "truth": {"data": {"ndarray": [["class_0"]]}}}
    response = httpx.post(f"{v2.http}/api/v1.0/feedback", json=body, timeout=10)
    assert response.status_code == 409 and "x-model-version" in response.text
