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


def test_revisions_that_stop_reporting_and_old_counts_are_forgotten():
    clock = Clock()
    pairs = PairCounts(clock, max_age_s=60, max_revisions=2, max_pairs=1)
    pairs.add("s", [("a", "x")])
    pairs.add("old", [("b", "x")])
    pairs.add("new", [("c", "x")])  # a third revision waiting: the one that reported least recently goes
    assert pairs.add("c1", [("a", "y")]) == 0 and pairs.add("c2", [("c", "x")]) == 1
    pairs.add("c3", [("d", "x")]), pairs.add("s", [("d", "x")])
    assert pairs.counts("c2", "new") == (0, 0) and pairs.counts("c3", "s") == (0, 1)  # one pair's counts kept
    clock.now = 61
    pairs.add("s", [("e", "x")])  # a minute on, every other revision's waiting answers are gone, and so are they
    assert list(pairs._waiting) == ["s"]
    clock.now = 3700
    pairs.add("s", [("f", "x")])
    assert pairs.counts("c3", "s") == (0, 0)  # an hour without a change


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


TOKEN = "answers-token"
SIGNED = {"Authorization": f"Bearer {TOKEN}"}


def judge_app(**settings) -> TestClient:
    """The judge's app (no Prometheus behind it) taking answers with TOKEN."""
    settings = {"prometheus_url": "http://127.0.0.1:9", "answers_token": TOKEN, **settings}
    return TestClient(service.create(JudgeSettings(**settings)), base_url="http://127.0.0.1")


def test_reported_answers_feed_the_judges_disagreement_test():
    judge = judge_app()
    ask = lambda: judge.get("/v1/judge", params={"canary": "c1", "stable": "s1", "weight": 0,  # noqa: E731
                                                 "tests": "disagreement"}).json()
    assert ask()["tests"][0]["reason"] == "no joined pairs yet"
    ids = [f"r{i}" for i in range(60)]
    assert judge.post("/v1/answers", json={"revision": "s1", "answers": [[r, "class_0"] for r in ids]},
                      headers=SIGNED).json() == {"joined": 0}
    answers = [[r, "class_1" if i % 2 else "class_0"] for i, r in enumerate(ids)]  # half of them differ
    assert judge.post("/v1/answers", json={"revision": "c1", "answers": answers}, headers=SIGNED).json() == {"joined": 60}
    doc = ask()
    test = doc["tests"][0]
    assert doc["decision"] == "fail" and (test["canary"]["events"], test["canary"]["requests"]) == (30, 60)
    assert "disagreement fail" in doc["summary"] and "30/60 pairs disagree" in doc["summary"]


@pytest.mark.parametrize("body", [{"revision": "c1"}, {"revision": "c1", "answers": [["r", "a"]], "extra": 1},
                                  {"revision": "c1", "answers": [["r", "a"]] * 10_001}])
def test_bad_answer_reports_are_a_422_and_join_nothing(body):
    assert judge_app().post("/v1/answers", json=body, headers=SIGNED).status_code == 422


def test_answers_without_the_token_are_refused_and_join_nothing(tmp_path):
    judge = judge_app()
    report = lambda revision, headers: judge.post(  # noqa: E731
        "/v1/answers", json={"revision": revision, "answers": [["r1", "class_0"]]}, headers=headers)
    for headers in ({}, {"Authorization": "Bearer guess"}, {"Authorization": TOKEN}):
        answer = report("s1", headers)
        assert answer.status_code == 401 and "ANSWERS_TOKEN" in answer.json()["error"]
    assert report("c1", SIGNED).json() == {"joined": 0}  # the refused stable answer never waited for it
    off = judge_app(answers_token="")  # a judge given no token takes no answers at all
    answer = off.post("/v1/answers", json={"revision": "s1", "answers": []}, headers={"Authorization": "Bearer "})
    assert answer.status_code == 403 and "JUDGE_ANSWERS_TOKEN" in answer.json()["error"]
    (tmp_path / "token").write_text(TOKEN + "\n")  # as a mounted Secret
    assert judge_app(answers_token="", answers_token_file=str(tmp_path / "token")).post(
        "/v1/answers", json={"revision": "s1", "answers": []}, headers=SIGNED).status_code == 200


def test_a_flood_of_made_up_questions_evicts_no_running_analysis():
    clock = Clock()
    judge = TestClient(service.create(JudgeSettings(prometheus_url="http://127.0.0.1:9", max_analyses=2, idle_s=300,
                                                    no_traffic_grace_s=1000),
                                      clock=clock), base_url="http://127.0.0.1")
    ask = lambda canary: judge.get("/v1/judge", params={  # noqa: E731 - no credentials, as Argo asks
        "canary": canary, "stable": "s1", "weight": 0, "tests": "disagreement"})
    assert ask("c1").status_code == ask("c2").status_code == 200
    for made_up in ("c3", "c4"):
        flood = ask(made_up)
        assert flood.status_code == 503 and "JUDGE_MAX_ANALYSES" in flood.json()["error"]
    clock.now = 200
    assert ask("c1").json()["seconds"] == 200  # the same analysis, from its first question
    clock.now = 400  # c2 idle for 400 s, c1 asked 200 s ago
    assert ask("c3").status_code == 200
    assert ask("c1").json()["seconds"] == 400
    kept = {a["canary"]: a["started_at"] for a in judge.get("/v1/analyses").json()["analyses"]}
    assert kept == {"c1": 0, "c3": 400}


def test_a_full_judge_gives_the_slot_of_a_question_that_never_saw_a_canary_request_to_a_new_one():
    clock = Clock()
    judge = TestClient(service.create(JudgeSettings(prometheus_url="http://127.0.0.1:9", max_analyses=2, idle_s=300,
                                                    no_traffic_grace_s=30, answers_token=TOKEN), clock=clock),
                       base_url="http://127.0.0.1")
    ask = lambda canary: judge.get("/v1/judge", params={  # noqa: E731
        "canary": canary, "stable": "s1", "weight": 0, "tests": "disagreement"})
    assert ask("c1").status_code == ask("made-up").status_code == 200
    for revision in ("s1", "c1"):  # c1's copies are answered: a rollout in its shadow phase
        judge.post("/v1/answers", json={"revision": revision, "answers": [["r1", "class_0"]]}, headers=SIGNED)
    clock.now = 20
    assert ask("c3").status_code == 503  # both still within the grace
    clock.now = 40
    assert ask("c1").status_code == 200 and ask("c3").status_code == 200  # made-up: no request in 40 s
    assert {a["canary"] for a in judge.get("/v1/analyses").json()["analyses"]} == {"c1", "c3"}
