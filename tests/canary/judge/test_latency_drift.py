"""A machine that gets busier after the slow bound was fixed (JUDGE_LATENCY_RECENT_S): the bound follows stable's
recent tail up, so a healthy canary slowed a little more than stable is not failed, and one slower by more than
the margin still is.

The replay is the run that aborted a healthy v2 on a crowded machine: stable's quiet history fixed the bound at
8 ms; then the machine filled (the canary starting, other work), stable answered 4% of its requests over 8 ms and
the canary, which costs a little more CPU per request and had just started, 20%: by both tolerances "slow".
"""

import pytest

from canary.cli.judge import table
from canary.judge.analysis import Question
from canary.judge.settings import JudgeSettings
from tests.canary.judge.test_analysis import CANARY, STABLE, Rollout, Second, fails
from tests.canary.judge.test_latency_margin import tail

QUIET: dict[float, float] = {}  # every answer 1.5 ms: the p99 in the 2 ms bucket, with the 5 ms margin 8 ms
BUSY_STABLE = {6.0: 0.10, 12.0: 0.05}  # of 50 a second: 5 at 6 ms, 2 at 12 ms (round() halves to even)
BUSY_CANARY = {6.0: 0.10, 12.0: 0.20}  # of 25: 2 at 6 ms, 5 at 12 ms


def busy_rollout(recent_s: float, canary: tuple, busy_before_s: int) -> list[dict]:
    """Ten minutes of quiet history (JUDGE_HISTORY_S), ``busy_before_s`` of a busy machine before the analysis,
    then the shadow phase on the busy machine: 25 copies a second to the canary, 50 answers by stable."""
    rollout = Rollout(settings=JudgeSettings(latency_recent_s=recent_s))
    rollout.history(600 - busy_before_s, (50, 0, tail(50, QUIET)))
    rollout.history(busy_before_s, (50, 0, tail(50, BUSY_STABLE)))
    return rollout.run(90, Second(33, (25, 0, canary), (50, 0, tail(50, BUSY_STABLE))))


@pytest.mark.parametrize("busy_before_s", [20, 0], ids=["busy before the analysis", "busy as it starts"])
def test_a_canary_slowed_a_little_more_than_stable_on_a_busier_machine_is_not_failed(busy_before_s):
    answers = busy_rollout(60, tail(25, BUSY_CANARY), busy_before_s)
    assert answers[0]["latency_bound_ms"] == 8.0  # fixed from the quiet history, as before
    assert not fails(answers), fails(answers)[:1]
    assert answers[-1]["latency_bound_raised"]["cells"] > 60, answers[-1]["latency_bound_raised"]
    assert answers[-1]["latency_bound_raised"]["up_to_ms"] == 16.0
    assert "over 8 ms, stable p99 + 5 ms over its 600 s before the analysis; 16 ms in" in table(answers[-1])[0]


def test_with_the_bound_kept_fixed_the_same_canary_is_failed():
    """The mutation: JUDGE_LATENCY_RECENT_S=0, the bound as it was, fails the healthy canary."""
    answers = busy_rollout(0, tail(25, BUSY_CANARY), 20)
    assert fails(answers) and "latency fail" in fails(answers)[0] and "over 8 ms, stable" in fails(answers)[0]
    assert answers[-1]["latency_bound_raised"] == {"cells": 0, "up_to_ms": 8.0}


def test_on_the_busier_machine_a_canary_slower_by_more_than_the_margin_still_fails_at_once():
    """Every answer 20 ms slower than stable's: over the raised bound (16 ms) too."""
    answers = busy_rollout(60, (21.5,) * 25, 20)
    first = next(i for i, a in enumerate(answers) if a["decision"] == "fail")
    assert first == 3 and "over 8 ms, up to 16" in answers[first]["summary"], answers[first]["summary"]
    assert answers[first]["latency_bound_raised"]["cells"] > 0


def test_an_slo_in_the_question_is_never_raised():
    """latency_ms is the person's own bound: a busy machine does not move it."""
    rollout = Rollout(settings=JudgeSettings())
    rollout.history(580, (50, 0, tail(50, QUIET)))
    rollout.history(20, (50, 0, tail(50, BUSY_STABLE)))
    slo = Question(CANARY, STABLE, 33, ("errors", "latency"), latency_ms=8.0)
    docs = []
    for _ in range(90):
        rollout.serve(Second(33, (25, 0, tail(25, BUSY_CANARY)), (50, 0, tail(50, BUSY_STABLE))), ask=False)
        docs.append(rollout.judge.get(slo, rollout.t, rollout.reader).answer(rollout.reader, slo, rollout.t))
    assert docs[-1]["latency_bound_ms"] == 8.0 and docs[-1]["latency_bound_raised"] == {"cells": 0, "up_to_ms": 8.0}
    assert fails(docs), docs[-1]["summary"]  # 20% over the person's 8 ms against stable's 5%
