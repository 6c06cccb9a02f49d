"""The model-quality tests of GET /v1/judge over a real Prometheus: accuracy from feedback, and the class mix."""

import pytest

from tests.canary.judge.test_service import ask, settled

pytestmark = pytest.mark.integration
MIX = {"class_0": 0.33, "class_1": 0.40, "class_2": 0.27}  # the wine rows' mix


def mix(n: int, shares=MIX) -> dict[str, int]:
    return {c: round(n * p) for c, p in shares.items()}


def start(prometheus, judge, tests="accuracy,class_mix"):
    canary, stable = prometheus.fresh()
    prometheus.serve_quality(canary, 0, 0, mix(0))
    prometheus.serve_quality(stable, 0, 0, mix(0))
    first = ask(judge, canary, stable, tests=tests).json()
    return canary, stable, first


def test_a_canary_wrong_on_a_third_of_its_feedback_fails_accuracy(prometheus, judge):
    canary, stable, first = start(prometheus, judge, "accuracy")
    assert first["decision"] == "continue" and first["tests"][0]["reason"] == "no feedback yet"
    prometheus.serve_quality(canary, 30, 100, mix(100))
    prometheus.serve_quality(stable, 9, 900, mix(900))
    doc = settled(judge, canary, stable, (100, 900), tests="accuracy")
    test = doc["tests"][0]
    assert doc["decision"] == "fail" and test["name"] == "accuracy", doc["summary"]
    assert (test["canary"]["events"], test["canary"]["requests"], test["stable"]["events"]) == (30, 100, 9)
    assert test["canary"]["accuracy"] == 0.7 and test["difference"]["upper"] < 0
    assert "accuracy fail" in doc["summary"] and "canary 30/100 incorrect" in doc["summary"]


def test_a_better_canary_passes_accuracy_and_an_unchanged_mix_passes(prometheus, judge):
    canary, stable, _ = start(prometheus, judge)
    prometheus.serve_quality(canary, 10, 4000, mix(40000))
    prometheus.serve_quality(stable, 200, 36000, mix(360000))
    doc = settled(judge, canary, stable, (4000, 36000, 40000, 360000), tests="accuracy,class_mix")
    assert [t["verdict"] for t in doc["tests"]] == ["pass", "pass"], doc["summary"]
    assert doc["decision"] == "pass"


def test_a_shifted_class_mix_fails_without_any_feedback(prometheus, judge):
    canary, stable, _ = start(prometheus, judge, "class_mix")
    prometheus.serve_quality(canary, 0, 0, mix(2000, {"class_0": 0.2, "class_1": 0.4, "class_2": 0.4}))
    prometheus.serve_quality(stable, 0, 0, mix(18000))
    doc = settled(judge, canary, stable, (2000, 18000), tests="class_mix")
    test = doc["tests"][0]
    assert doc["decision"] == "fail", doc["summary"]
    assert test["canary"]["by_class"] == {"class_0": 400, "class_1": 800, "class_2": 800}
    assert test["ratio_by_class"]["class_2"]["lower"] > 1.1 and "share of class_0 differs" in test["reason"]


def test_a_mix_within_the_tolerance_never_fails(prometheus, judge):
    canary, stable, _ = start(prometheus, judge, "class_mix")
    shifted = {"class_0": 0.3371, "class_1": 0.3933, "class_2": 0.2697}  # v2's mix on the wine rows, v1's beside it
    canary_mix, stable_mix = mix(50000, shifted), mix(450000, {"class_0": 0.3258, "class_1": 0.4101, "class_2": 0.2640})
    prometheus.serve_quality(canary, 0, 0, canary_mix)
    prometheus.serve_quality(stable, 0, 0, stable_mix)
    doc = settled(judge, canary, stable, (sum(canary_mix.values()), sum(stable_mix.values())), tests="class_mix")
    assert doc["tests"][0]["verdict"] == "pass", doc["summary"]


def test_unknown_tests_are_named_with_the_choices(judge):
    response = ask(judge, "a1", "b1", tests="accuracy,vibes")
    assert response.status_code == 422 and "vibes" in response.text and "class_mix" in response.text


def test_the_judge_reads_the_runtimes_counter_names():
    from canary.judge import source
    from servers import metrics

    assert (source.FEEDBACK_TOTAL, source.PREDICTIONS_TOTAL) == (f"{metrics.FEEDBACK}_total", f"{metrics.PREDICTIONS}_total")
