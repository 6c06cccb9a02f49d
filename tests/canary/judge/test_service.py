"""GET /v1/judge over a real Prometheus: verdicts from raw counters, windows, resets, and every bad input.

The judge answers from evidence a settling time behind the question (every scrape has
reached it), so each test asks until the counts it served are in the answer. An analysis
starts where the canary's counters were born (or at its first question), so each test sets
stable's counters before the canary's, as a rollout adds its canary to a running stable.
The traffic a failing verdict rests on reaches both together (``serve_together``), as a
step's traffic does: the count test learns only from cells where both answered.
"""

import time

import pytest

from canary.local import procs
from tests.canary.judge.conftest import Traffic
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def ask(judge, canary, stable, weight=10, **params):
    return judge.get("/v1/judge", params={"canary": canary, "stable": stable, "weight": weight, **params})


def settled(judge, canary, stable, requests: tuple[int, ...], **params) -> dict:
    """Ask until the answer's tests count these canary and stable requests, test after test (what the test
    served since the start)."""
    def seen():
        doc = ask(judge, canary, stable, **params).json()
        counts = tuple(n for t in doc["tests"] for n in (t["canary"]["requests"], t["stable"]["requests"]))
        return doc if counts[:len(requests)] == requests else None
    return wait_until(seen, 20, f"the judge to count {requests} requests")


def test_a_canary_failing_a_tenth_of_its_requests_fails_and_stays_failed(prometheus, judge):
    canary, stable = prometheus.fresh()
    prometheus.serve(stable, 900)
    prometheus.serve(canary, 100)
    first = ask(judge, canary, stable).json()
    assert first["decision"] == "continue" and first["tests"][0]["canary"]["requests"] == 0  # counts start here
    prometheus.serve_together(Traffic(canary, 300, errors=30), Traffic(stable, 2700))
    doc = settled(judge, canary, stable, (200, 1800))
    errors = doc["tests"][0]
    assert doc["decision"] == "fail" and errors["verdict"] == "fail", doc["summary"]
    assert (errors["canary"]["events"], errors["canary"]["requests"], errors["stable"]["events"]) == (30, 200, 0)
    assert "errors fail" in doc["summary"] and "canary 30/200 5xx" in doc["summary"]
    prometheus.serve(canary, 5000, errors=30)
    prometheus.serve(stable, 45000)
    assert settled(judge, canary, stable, (4900, 44100))["decision"] == "fail"  # a failed test stays failed


def test_a_counter_reset_keeps_the_counts_and_old_traffic_is_not_counted(prometheus, judge):
    canary, stable = prometheus.fresh()
    prometheus.serve(stable, 9000)
    prometheus.serve(canary, 1000, errors=100)  # before the analysis: not its traffic
    ask(judge, canary, stable)
    prometheus.serve(canary, 1040, errors=100)
    ask(judge, canary, stable)
    prometheus.serve(canary, 10, errors=1)  # the canary's pod restarted
    doc = settled(judge, canary, stable, (50, 0))
    assert doc["tests"][0]["canary"]["events"] == 1 and doc["tests"][0]["canary"]["requests"] == 50
    assert doc["counter_resets"] >= 1


def test_a_healthy_canary_with_enough_traffic_passes(prometheus, judge):
    canary, stable = prometheus.fresh()
    prometheus.serve(stable, 0)
    prometheus.serve(stable, 2000)  # its history: the latency bound (5 ms) is known from the start
    prometheus.serve(canary, 0)
    ask(judge, canary, stable)
    prometheus.serve(canary, 6000, errors=2, slow=10)
    prometheus.serve(stable, 56000, errors=20, slow=90)
    doc = settled(judge, canary, stable, (6000, 54000))
    assert doc["decision"] == "pass", doc["summary"]
    assert [t["verdict"] for t in doc["tests"]] == ["pass", "pass"]


def test_slow_answers_fail_the_latency_test_against_stables_p99_bucket(prometheus, judge):
    """Stable's 1100 answers of the minutes before the analysis set the bound; the canary is judged at once."""
    canary, stable = prometheus.fresh()
    prometheus.serve(stable, 0)
    prometheus.serve(stable, 1100)
    prometheus.serve(canary, 0)
    judge = judge.make(latency_margin_ms=0)  # the bound at stable's p99 bucket itself
    ask(judge, canary, stable)
    prometheus.serve_together(Traffic(canary, 100, slow=60), Traffic(stable, 2000))
    doc = settled(judge, canary, stable, (100, 900))
    latency = doc["tests"][1]
    assert doc["decision"] == "fail" and latency["verdict"] == "fail", doc["summary"]
    assert doc["latency_bound_ms"] == 5 and doc["latency_bound_origin"] == "stable p99 over its 600 s before the analysis"
    assert doc["tests"][0]["verdict"] != "fail"


def test_without_history_stables_first_answers_set_the_bound_and_only_later_ones_are_judged(prometheus, judge):
    """Stable answered 300 of its first 900 requests slower than every bucket (a cold start, one scrape: no
    history), then fast. Its first 1200 answers in the analysis set the bound; the canary's 60 slow answers
    among them are not judged against it, its later ones are."""
    canary, stable = prometheus.fresh()
    prometheus.serve(stable, 900, slow=300)
    prometheus.serve(canary, 0)
    judge = judge.make(latency_margin_ms=0)
    ask(judge, canary, stable)
    # The canary's answers first: their cell is then never after the one that brings stable's 1200, the cell
    # whose settling fixes the bound and leaves every cell up to it unjudged.
    prometheus.serve(canary, 100, slow=60)
    prometheus.serve(stable, 2100, slow=300)
    doc = settled(judge, canary, stable, (100, 1200))
    assert doc["latency_bound_origin"].startswith("stable p99 over the analysis's first"), doc["latency_bound_origin"]
    assert doc["latency_bound_ms"] < 10 and doc["tests"][1]["canary"]["requests"] == 0
    prometheus.serve_together(Traffic(canary, 200, slow=110), Traffic(stable, 3000, slow=300))
    assert wait_until(lambda: ask(judge, canary, stable).json()["decision"] == "fail", 20, "the latency test to fail")


@pytest.mark.parametrize("factor, bound, decision", [(None, 20, "fail"), (1000, 50, "continue")],
                         ids=["four times the median (the default)", "the median cap off"])
def test_a_long_tail_in_stable_does_not_hide_a_canary_slower_in_every_answer(prometheus, judge, factor, bound, decision):
    """Stable: 2% of its answers between 20 and 50 ms (a stall in the minutes before), its median under 5.
    The canary: every answer in that range. Over stable's p99 (50 ms) it has no slow answer."""
    canary, stable = prometheus.fresh()
    prometheus.serve(stable, 0)
    prometheus.serve(stable, 2000, tail=40)
    prometheus.serve(canary, 0)
    judge = judge.make(latency_margin_ms=0, **({"latency_median_factor": factor} if factor else {}))
    ask(judge, canary, stable)
    prometheus.serve_together(Traffic(canary, 200, tail=200), Traffic(stable, 4000, tail=40))
    doc = settled(judge, canary, stable, (200, 2000))
    assert doc["latency_bound_ms"] == bound and doc["decision"] == decision, doc["summary"]
    origin = "stable p99" if factor else "4 x stable's median"
    assert doc["latency_bound_origin"] == f"{origin} over its 600 s before the analysis"


def test_a_new_weight_opens_a_window(prometheus, judge):
    canary, stable = prometheus.fresh()
    prometheus.serve(stable, 90)
    prometheus.serve(canary, 10)
    ask(judge, canary, stable, weight=10)
    prometheus.serve(canary, 20)
    prometheus.serve(stable, 180)
    assert settled(judge, canary, stable, (10, 90), weight=10)["tests"][0]["windows"] == 1
    ask(judge, canary, stable, weight=50)
    prometheus.serve(canary, 70)
    prometheus.serve(stable, 230)
    assert settled(judge, canary, stable, (60, 140), weight=50)["decision"] == "continue"
    wait_until(lambda: ask(judge, canary, stable, weight=50).json()["tests"][0]["windows"] == 2, 20,
               "the cells after the question at weight 50 to settle in a second window")


def test_an_unknown_revision_is_a_404_naming_it(prometheus, judge):
    _, stable = prometheus.fresh()
    prometheus.serve(stable, 10)
    response = ask(judge.make(no_traffic_grace_s=0), "feedc0ffee", stable)
    assert response.status_code == 404 and "revision feedc0ffee is unknown" in response.json()["error"]


def test_a_canary_without_traffic_is_a_409_after_the_grace_period(prometheus, judge):
    canary, stable = prometheus.fresh()
    prometheus.serve(stable, 10)
    prometheus.serve(canary, 0)
    response = ask(judge.make(no_traffic_grace_s=0), canary, stable)
    assert response.status_code == 409 and f"canary revision {canary} has had no requests" in response.json()["error"]
    assert ask(judge, canary, stable).json()["decision"] == "continue"  # within the default grace of 60 s


def test_a_question_may_shorten_the_grace_as_the_shadow_template_does(prometheus, judge):
    """A shadow phase whose mirror Argo skipped gets no copies: an error within the question's grace_s,
    never a minute of "continue" that the shadow step would take for a pass."""
    canary, stable = prometheus.fresh()
    prometheus.serve(stable, 10)
    prometheus.serve(canary, 0)
    assert ask(judge, canary, stable, grace_s=1000).json()["decision"] == "continue"
    response = ask(judge, canary, stable, grace_s=0)  # the same analysis, asked with a grace already spent
    assert response.status_code == 409 and f"canary revision {canary} has had no requests" in response.json()["error"]
    assert ask(judge, canary, stable, grace_s=-1).status_code == 422


def test_argo_asking_again_after_an_error_is_the_same_analysis_and_errs_again(prometheus, judge):
    """Argo asks a metric in error again 10 s later (DefaultErrorRetryInterval): five such errors abort. Each
    must find the grace spent, or a shadow phase without copies answers "continue" forever and passes."""
    canary, stable = prometheus.fresh()
    prometheus.serve(stable, 10)
    prometheus.serve(canary, 0)
    shift = [0.0]
    judge = judge.make(clock=lambda: time.time() + shift[0])
    for attempt in range(5):
        shift[0] = 10.9 * attempt  # Argo's 10 s, from a finish time it keeps in whole seconds
        assert ask(judge, canary, stable, grace_s=5).status_code == (409 if attempt else 200), attempt


def test_a_retry_after_a_spent_grace_gets_a_grace_of_its_own(prometheus, judge):
    """``kubectl argo rollouts retry`` after a shadow phase without copies asks about the same revisions:
    once JUDGE_RETRY_GAP_S has passed it is a new attempt, not the old analysis with its grace spent."""
    canary, stable = prometheus.fresh()
    prometheus.serve(stable, 10)
    prometheus.serve(canary, 0)
    shift = [0.0]
    judge = judge.make(clock=lambda: time.time() + shift[0])
    assert ask(judge, canary, stable, grace_s=0).status_code == 409
    shift[0] = 31  # JUDGE_RETRY_GAP_S (30 s) without a question: Argo stopped asking, then a person retried
    # The old analysis, asked first 31 s ago, would be past a 5 s grace: a 409 again.
    assert ask(judge, canary, stable, grace_s=5).json()["decision"] == "continue"


def test_prometheus_down_is_a_502_never_a_pass(judge):
    down = judge.make(prometheus_url=f"http://127.0.0.1:{procs.free_port()}", no_traffic_grace_s=0)
    response = ask(down, "aaaaaaaaaa", "bbbbbbbbbb")
    assert response.status_code == 502 and "did not answer" in response.json()["error"]


@pytest.mark.parametrize("params, message", [
    ({"canary": "abc", "stable": "abc", "weight": 10}, "canary and stable are the same revision"),
    ({"canary": 'a"} or vector(1)', "stable": "b", "weight": 10}, "canary: String should match pattern"),
    ({"canary": "a", "stable": "b", "weight": 150}, "weight: Input should be less than or equal to 100"),
    ({"canary": "a", "stable": "b", "weight": 10, "tests": "errors,accuracies"}, "tests: accuracies"),
    ({"canary": "a", "stable": "b", "weight": 10, "latency_ms": -1}, "latency_ms: Input should be greater than 0"),
    ({"canary": "a", "weight": 10}, "stable: Field required"),
    ({"canary": "a", "stable": "b", "weight": 10, "since": 0}, "since 0 is more than JUDGE_SINCE_MAX_AGE_S"),  # was hours of empty cells
])
def test_bad_input_is_a_422_naming_the_field(judge, params, message):
    response = judge.get("/v1/judge", params=params)
    assert response.status_code == 422 and message in response.json()["error"], response.json()


def test_the_judges_own_metrics_count_its_decisions(prometheus, judge):
    canary, stable = prometheus.fresh()
    prometheus.serve(stable, 90)
    prometheus.serve(canary, 10)
    ask(judge, canary, stable)
    ask(judge, canary, canary)
    text = judge.get("/metrics").text
    assert 'mlcanary_judge_decisions_total{decision="continue"} 1.0' in text
    assert judge.get("/healthz").json() == {"status": "ok"}


def test_since_counts_from_a_moment_in_the_past(prometheus, judge):
    canary, stable = prometheus.fresh()
    prometheus.serve(canary, 100, errors=1)
    prometheus.serve(stable, 900)
    start = time.time()
    prometheus.serve(canary, 160, errors=4)
    prometheus.serve(stable, 1440)
    doc = settled(judge, canary, stable, (60, 540), since=start)
    assert (doc["tests"][0]["canary"]["events"], doc["tests"][0]["canary"]["requests"]) == (3, 60)
    assert doc["tests"][0]["stable"]["requests"] == 540


def test_the_analyses_keep_a_trace_of_their_evidence_for_the_dashboard(prometheus, judge):
    canary, stable = prometheus.fresh()
    prometheus.serve(stable, 900)
    prometheus.serve(canary, 100)
    ask(judge, canary, stable)
    prometheus.serve(canary, 300, errors=30)
    prometheus.serve(stable, 2700)
    last = settled(judge, canary, stable, (200, 1800))
    (analysis,) = judge.get("/v1/analyses", params={"canary": canary, "stable": stable}).json()["analyses"]
    assert {tuple(sorted(point["tests"])) for point in analysis["trace"]} == {("errors", "latency")}
    log_e, lower, upper = analysis["trace"][-1]["tests"]["errors"]
    errors = last["tests"][0]
    assert (log_e, lower, upper) == (errors["log_e_value"], errors["difference"]["lower"], errors["difference"]["upper"])
    assert analysis["trace"][0]["tests"]["errors"][0] == 0.0  # no evidence before any request
