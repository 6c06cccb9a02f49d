"""The shadow phase's evidence: answers of two revisions joined on the request id, and the disagreement test."""

import math

import numpy as np
import pytest
from fastapi.testclient import TestClient

from canary.judge import quality, service
from canary.judge.pairs import PairCounts
from canary.judge.settings import JudgeSettings


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_answers_to_the_same_request_are_joined_once_and_compared():
    pairs = PairCounts()
    assert pairs.add("stable1", [("r1", "class_0"), ("r2", "class_1"), ("r3", "class_2")]) == 0
    assert pairs.add("canary1", [("r1", "class_0"), ("r2", "class_2"), ("r9", "class_0")]) == 2
    assert pairs.add("canary1", [("r1", "class_1")]) == 0  # a request is one pair, whoever repeats it
    assert pairs.counts("canary1", "stable1") == pairs.counts("stable1", "canary1") == (1, 2)
    assert pairs.add("stable1", [("r9", "class_1")]) == 1  # the canary may answer first
    assert pairs.counts("canary1", "stable1") == (2, 3)
    assert pairs.counts("canary1", "other") == (0, 0)


def test_an_answer_waits_a_bounded_time_and_number():
    clock = Clock()
    pairs = PairCounts(clock, max_waiting=2, max_age_s=60)
    pairs.add("s", [("a", "x"), ("b", "x"), ("c", "x")])  # "a" pushed out by the bound
    clock.now = 30
    assert pairs.add("c1", [("a", "x"), ("b", "x")]) == 1
    clock.now = 100
    assert pairs.add("c1", [("c", "y")]) == 0  # too late: not the same moment's answer
    assert pairs.counts("s", "c1") == (0, 1)


def test_the_disagreement_test_fails_a_thirty_percent_wrong_canary_on_a_few_dozen_pairs():
    rng = np.random.default_rng(5)
    differ = rng.random(300) < 0.33  # v2 with 30% wrong answers against v1
    first = next(n for n in range(1, 301) if quality.disagreement(int(differ[:n].sum()), n, 0.1, 0.01)["verdict"] == "fail")
    assert first <= 80


def test_the_disagreement_test_a_a_false_fails_stay_under_alpha():
    rng, runs = np.random.default_rng(6), 2000
    x = (rng.random((runs, 300)) < 0.1).cumsum(axis=1)  # at the tolerance: the null's edge
    n = np.arange(1, 301)
    from canary.judge import stats

    log_e = stats.log_truncated_lr(x, n - x, *stats.JEFFREYS, 0.1)
    assert (log_e >= math.log(100)).any(axis=1).mean() <= 0.01


def test_a_healthy_v2_passes_the_disagreement_test():
    assert quality.disagreement(62, 1000, 0.1, 0.01)["verdict"] == "pass"  # v1 and v2 disagree on 6.2% of rows


def test_reported_answers_feed_the_judges_disagreement_test():
    judge = TestClient(service.create(JudgeSettings(prometheus_url="http://127.0.0.1:9")), base_url="http://127.0.0.1")
    ask = lambda: judge.get("/v1/judge", params={"canary": "c1", "stable": "s1", "weight": 0,  # noqa: E731
                                                 "tests": "disagreement"}).json()
    assert ask()["tests"][0]["reason"] == "no joined pairs yet"
    ids = [f"r{i}" for i in range(60)]
    assert judge.post("/v1/answers", json={"revision": "s1", "answers": [[r, "class_0"] for r in ids]}).json() == {
        "joined": 0}
    answers = [[r, "class_1" if i % 2 else "class_0"] for i, r in enumerate(ids)]  # half of them differ
    assert judge.post("/v1/answers", json={"revision": "c1", "answers": answers}).json() == {"joined": 60}
    doc = ask()
    test = doc["tests"][0]
    assert doc["decision"] == "fail" and (test["canary"]["events"], test["canary"]["requests"]) == (30, 60)
    assert "disagreement fail" in doc["summary"] and "30/60 pairs disagree" in doc["summary"]


@pytest.mark.parametrize("body", [{"revision": "c1"}, {"revision": "c1", "answers": [["r", "a"]], "extra": 1},
                                  {"revision": "c1", "answers": [["r", "a"]] * 10_001}])
def test_bad_answer_reports_are_a_422_and_join_nothing(body):
    judge = TestClient(service.create(JudgeSettings(prometheus_url="http://127.0.0.1:9")), base_url="http://127.0.0.1")
    assert judge.post("/v1/answers", json=body).status_code == 422
