"""A canary process just started is slower for its first seconds (JUDGE_LATENCY_WARMUP_S): those answers are not
judged on latency, at the analysis's start and after a restart, and a canary slow for longer still fails.

The replay is the tests/cluster/dataplane run that aborted a healthy v2 in its retried shadow step: its
runtime, started again, had 27 of its first 184 copies over the 12 ms bound against stable's 20 of 760, 12 s in.
Here stable's quiet history fixes the bound at 8 ms and the cold canary answers 20% of its copies at 12 ms
for its first 8 s, then as stable does.
"""

import pytest

from canary.cli.judge import table
from canary.judge.settings import JudgeSettings
from tests.canary.judge.test_analysis import CANARY, Rollout, Second, fails
from tests.canary.judge.test_latency_margin import tail

QUIET: dict[float, float] = {}  # every answer 1.5 ms: the p99 in the 2 ms bucket, with the 5 ms margin 8 ms
COLD = {12.0: 0.20}  # of 25 copies a second, 5 at 12 ms


def shadow(canary: tuple) -> Second:
    """A second of the shadow phase: 25 copies to the canary, 50 answers by stable."""
    return Second(33, (25, 0, canary), (50, 0, tail(50, QUIET)))


def started(warmup_s: float) -> Rollout:
    """Ten minutes of stable alone (JUDGE_HISTORY_S): the bound is 8 ms."""
    rollout = Rollout(settings=JudgeSettings(latency_warmup_s=warmup_s))
    rollout.history(600, (50, 0, tail(50, QUIET)))
    return rollout


@pytest.mark.parametrize("warmup_s, failed", [(10.0, False), (0.0, True)], ids=["the default warm-up", "none"])
def test_a_cold_canarys_first_seconds_are_not_judged_on_latency(warmup_s, failed):
    """With no warm-up (the mutation) the healthy canary fails on its first seconds, as in the dataplane run."""
    rollout = started(warmup_s)
    answers = rollout.run(8, shadow(tail(25, COLD))) + rollout.run(80, shadow(tail(25, QUIET)))
    assert answers[-1]["latency_bound_ms"] == 8.0
    assert bool(fails(answers)) == failed, fails(answers)[:1] or answers[-1]["summary"]
    left_out = answers[-1]["latency_warmup"]["canary_answers_left_out"]
    assert left_out == (250 if warmup_s else 0)  # its first 10 cells, 25 copies each
    if not failed:
        assert "over 8 ms after a 10 s warm-up, stable" in answers[-1]["summary"], answers[-1]["summary"]
        assert "the canary's first 250 answers (its 10 s warm-up" in table(answers[-1])[0]  # canary judge


def test_a_canary_slow_for_longer_than_its_warm_up_fails_once_it_is_over():
    """Every copy 20 ms slower than stable's answers: failed in the first cells after the warm-up."""
    answers = started(10.0).run(30, shadow((21.5,) * 25))
    first = next(i for i, a in enumerate(answers) if a["decision"] == "fail")
    assert 10 <= first <= 14, (first, answers[first]["summary"])
    assert "latency fail" in answers[first]["summary"] and "errors fail" not in answers[first]["summary"]


def test_a_canary_failing_its_first_requests_is_failed_within_its_warm_up():
    """The warm-up is the latency test's alone: a process that fails its first requests has failed them."""
    answers = started(10.0).run(10, Second(33, (25, 25, tail(25, QUIET)), (50, 0, tail(50, QUIET))))
    assert fails(answers) and fails(answers)[0].startswith("errors fail"), answers[-1]["summary"]


@pytest.mark.parametrize("warmup_s, failed", [(10.0, False), (0.0, True)], ids=["the default warm-up", "none"])
def test_a_canary_restarted_mid_analysis_warms_up_again(warmup_s, failed):
    """Warm for 30 s, then its process restarts (every counter of it back to 0) and is cold for 8 s."""
    rollout = started(warmup_s)
    answers = rollout.run(30, shadow(tail(25, QUIET)))
    rollout.reader.reset(CANARY)
    answers += rollout.run(8, shadow(tail(25, COLD))) + rollout.run(60, shadow(tail(25, QUIET)))
    assert answers[-1]["counter_resets"] > 0
    assert bool(fails(answers)) == failed, fails(answers)[:1] or answers[-1]["summary"]
    assert answers[-1]["latency_warmup"]["canary_answers_left_out"] == (500 if warmup_s else 0)
