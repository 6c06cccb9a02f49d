"""AnalysisRun bookkeeping, table-driven over Argo Rollouts' semantics."""

import math

import pytest

from canary.rollout import analysis
from canary.rollout.analysis import ERROR, FAILED, INCONCLUSIVE, RUNNING, SUCCESSFUL, AnalysisRun, Measurement
from canary.rollout.providers import PrometheusQuery
from canary.rollout.spec import Metric


def tick(run: AnalysisRun, now: float, measure) -> list:
    """One round as the controller takes it: measure what is due, record each, settle the run."""
    taken = [(metric, m, run.record(metric, m, now)) for metric in run.due(now) for m in [measure(metric)]]
    run.settle()
    return taken

OK = "len(result) > 0 && !isNaN(result[0]) && result[0] >= 0.95"
BAD = "len(result) > 0 && !isNaN(result[0]) && result[0] < 0.95"


def metric(**kw) -> Metric:
    return Metric(**{"name": "m", "source": PrometheusQuery("a", "q"), **kw})


@pytest.mark.parametrize(
    "success, failure, result, phase",
    [
        (OK, "", [0.99], SUCCESSFUL),
        (OK, "", [0.5], FAILED),          # only successCondition: failed = not success
        ("", BAD, [0.5], FAILED),
        ("", BAD, [0.99], SUCCESSFUL),    # only failureCondition: successful = not failure
        ("", BAD, [], SUCCESSFUL),
        (OK, BAD, [], INCONCLUSIVE),      # both set, neither true
        (OK, BAD, [math.nan], INCONCLUSIVE),
        ("", "", [0.1], SUCCESSFUL),      # neither set
        ("result[0] >= 0.95", "", [], ERROR),           # empty result used as result[0]
        ("result[0] >= 0.95", "", [math.nan], FAILED),  # NaN >= 0.95 is false
        ("result >= 0", "result >= 0", 1.0, FAILED),    # both true: failed
    ],
)
def test_judge(success, failure, result, phase):
    assert analysis.judge(metric(success_condition=success, failure_condition=failure), result)[0] == phase


def run_with(m: Metric, phases: list[str], until: float = 1000, step: float = 1.0):
    """Feed ``phases`` as successive measurements, ticking a clock; return the run."""
    run = AnalysisRun("r", [m], 0.0)
    feed = iter(phases)
    t = 0.0
    while t <= until and run.phase == RUNNING:
        tick(run, t, lambda _m: Measurement(next(feed, SUCCESSFUL)))
        t += step
    return run


@pytest.mark.parametrize(
    "limits, phases, expected, message",
    [
        ({"failure_limit": 1}, [FAILED, SUCCESSFUL, FAILED], FAILED, "failed (2) > failureLimit (1)"),
        ({"failure_limit": 1}, [FAILED, SUCCESSFUL, SUCCESSFUL], SUCCESSFUL, "count (3) reached"),
        ({}, [FAILED], FAILED, "failed (1) > failureLimit (0)"),
        ({"inconclusive_limit": 1}, [INCONCLUSIVE, INCONCLUSIVE], INCONCLUSIVE, "inconclusive (2) > inconclusiveLimit (1)"),
        ({}, [ERROR] * 5, ERROR, "consecutiveErrors (5) > consecutiveErrorLimit (4)"),
        ({}, [ERROR] * 4 + [SUCCESSFUL] + [ERROR] * 4 + [SUCCESSFUL, SUCCESSFUL], SUCCESSFUL, "count (3) reached"),
        ({"consecutive_error_limit": 0}, [ERROR], ERROR, "consecutiveErrors (1) > consecutiveErrorLimit (0)"),
    ],
)
def test_limits_compare_strictly(limits, phases, expected, message):
    run = run_with(metric(interval_s=1, count=3, **limits), phases)
    assert run.phase == expected
    assert run.states["m"].message == message


def test_error_does_not_count_and_retries_after_10s():
    run = AnalysisRun("r", [metric(interval_s=30, count=2)], 0.0)
    tick(run, 0, lambda _m: Measurement(ERROR))
    state = run.states["m"]
    assert (state.count, state.error, state.next_at) == (0, 1, 10.0)
    tick(run, 10, lambda _m: Measurement(SUCCESSFUL))
    assert (state.count, state.consecutive_error, state.next_at) == (1, 0, 40.0)


def test_error_wins_over_inconclusive_over_failed():
    m = metric(interval_s=1, count=10, failure_limit=0, inconclusive_limit=0, consecutive_error_limit=0)
    run = AnalysisRun("r", [m], 0.0)
    state = run.states["m"]
    state.failed, state.inconclusive, state.consecutive_error = 1, 1, 1
    state.measurements.append(Measurement(ERROR))
    assert analysis.assess(m, state, False)[0] == ERROR
    state.consecutive_error = 0
    assert analysis.assess(m, state, False)[0] == INCONCLUSIVE


def test_no_interval_no_count_is_one_measurement():
    run = run_with(metric(), [SUCCESSFUL])
    assert run.phase == SUCCESSFUL and run.states["m"].count == 1


def test_interval_without_count_runs_until_terminated():
    m = metric(interval_s=1)
    run = AnalysisRun("r", [m], 0.0)
    for t in range(50):
        tick(run, t, lambda _m: Measurement(SUCCESSFUL))
    assert run.phase == RUNNING
    run.terminate()
    assert run.phase == SUCCESSFUL


def test_terminated_before_any_measurement_is_successful():
    run = AnalysisRun("r", [metric(interval_s=1, count=3, initial_delay_s=60)], 0.0)
    tick(run, 5, lambda _m: Measurement(FAILED))
    assert run.states["m"].measurements == []
    run.terminate()
    assert run.phase == SUCCESSFUL


def test_initial_delay_and_time_scale():
    run = AnalysisRun("r", [metric(interval_s=30, count=3, initial_delay_s=30)], 100.0, time_scale=10)
    assert run.states["m"].next_at == 103.0
    tick(run, 103, lambda _m: Measurement(SUCCESSFUL))
    assert run.states["m"].next_at == 106.0


def test_a_failed_metric_terminates_the_others_and_the_run_is_the_worst():
    slow, fast = metric(name="slow", interval_s=30, count=6), metric(name="fast", interval_s=5, count=36)
    run = AnalysisRun("r", [slow, fast], 0.0)
    phases = {"slow": SUCCESSFUL, "fast": FAILED}
    tick(run, 0, lambda m: Measurement(phases[m.name]))
    assert run.phase == FAILED
    assert run.states["slow"].phase == SUCCESSFUL  # terminated with its one good measurement
    assert run.worst().name == "fast"


def test_run_survives_a_round_trip():
    run = AnalysisRun("r", [metric(interval_s=1, count=3)], 0.0)
    tick(run, 0, lambda _m: Measurement(FAILED, [0.5], ""))
    again = AnalysisRun.from_dict(run.to_dict(), [metric(interval_s=1, count=3)])
    assert again.states["m"].failed == 1 and again.states["m"].measurements[0].value == [0.5]


def test_a_metric_asked_more_often_than_argo_would_is_paced_for_the_same_total_time():
    judge = Metric("judge", interval_s=1, count=180)  # the shipped judge metric: once a second, three minutes
    for scale, count in ((4, 45), (10, 18)):
        fast = analysis.paced(judge, scale)  # 0.25 s and 0.1 s a look: the same answer asked several times
        assert fast.interval_s / scale == analysis.MIN_SCALED_INTERVAL_S == 1.0 and fast.count == count
        assert fast.interval_s * fast.count == judge.interval_s * judge.count
    slow = Metric("success-rate", interval_s=30, count=6)
    assert analysis.paced(judge, 1) is judge and analysis.paced(slow, 4) is slow


def test_the_next_measurement_is_due_one_interval_after_the_last_was_due():
    run = AnalysisRun("r", [Metric("m", interval_s=1.0, count=3)], started_at=0.0)
    metric = run.metrics["m"]
    for now in (0.05, 1.08, 2.02):  # each taken a little late, as a ticking controller does
        assert run.due(now) == [metric]
        run.record(metric, Measurement(SUCCESSFUL), now)
    assert run.states["m"].next_at == 3.0 and run.states["m"].phase == SUCCESSFUL


def test_only_the_last_ten_measurements_are_kept_and_the_counts_keep_the_rest():
    run = AnalysisRun("r", [Metric("m", interval_s=1.0, count=360)], started_at=0.0)
    for i in range(25):
        run.record(run.metrics["m"], Measurement(SUCCESSFUL, value=i), float(i))
    state = run.states["m"]
    assert [m.value for m in state.measurements] == list(range(15, 25)) and state.count == state.successful == 25
