"""The shadow phase's evidence: answers of two revisions joined on the request id, and the disagreement test."""

import math

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from canary.judge import quality, service
from canary.judge.analysis import Question
from canary.judge.pairs import PairCounts
from canary.judge.settings import JudgeSettings
from canary.judge.source import JudgeError
from tests.canary.judge.fakeprom import DISAGREEMENTS, PAIRS, FakeReader


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


def test_the_joined_counts_are_exported_for_prometheus_on_the_judges_metrics():
    judge = judge_app()
    ids = [f"r{i}" for i in range(60)]
    assert judge.post("/v1/answers", json={"revision": "s1", "answers": [[r, "class_0"] for r in ids]},
                      headers=SIGNED).json() == {"joined": 0}
    answers = [[r, "class_1" if i % 2 else "class_0"] for i, r in enumerate(ids)]  # half of them differ
    assert judge.post("/v1/answers", json={"revision": "c1", "answers": answers}, headers=SIGNED).json() == {"joined": 60}
    exported = {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(judge.get("/metrics").text) for s in family.samples}
    labels = (("peer", "s1"), ("revision", "c1"))  # sorted: whichever reported first
    assert exported[PAIRS, labels] == 60 and exported[DISAGREEMENTS, labels] == 30


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


@pytest.mark.integration
def test_a_flood_of_made_up_questions_evicts_no_running_analysis(judge):
    clock = Clock()  # at 0 s: an empty Prometheus answers every read
    judge = judge.make(clock=clock, max_analyses=2, idle_s=300, no_traffic_grace_s=1000)
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
    reader, judge = FakeReader(), service.Analyses(JudgeSettings(max_analyses=2, idle_s=300, no_traffic_grace_s=30))

    def ask(canary: str, now: float) -> dict:
        question = Question(canary, "s1", 0, ("disagreement",))
        return judge.get(question, now, reader).answer(reader, question, now)

    reader.scrape(0)
    ask("c1", 0), ask("made-up", 0)
    reader.add_pairs("c1", "s1", 1)  # c1's copies are answered: a rollout in its shadow phase
    reader.add_pairs("made-up", "s0", 5)  # another stable's pairs: nothing to this analysis
    for t in range(1, 41):
        reader.scrape(t)
    with pytest.raises(JudgeError) as full:
        ask("c3", 20)  # both still within the grace
    assert full.value.status == 503
    assert ask("c1", 40)["tests"][0]["canary"]["requests"] == 1
    ask("c3", 40)  # made-up: no copy joined in 40 s, its slot goes
    assert {a["canary"] for a in judge.last(None, None)} == {"c1", "c3"}
