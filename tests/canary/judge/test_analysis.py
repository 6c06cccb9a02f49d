"""The judge under the conditions that broke its guarantee: a late latency bound, scrape lag at a weight change,
a real share that is not the weight, a workload that shifts between steps, a retry, a restart, counters that
reset or miss a scrape. Each replays a rollout second by second over a fake Prometheus (``fakeprom``)."""

from dataclasses import dataclass, field

import numpy as np
import pytest

from canary.cli.judge import table as judge_table
from canary.judge.analysis import Question
from canary.judge.service import Analyses
from canary.judge.settings import JudgeSettings
from canary.judge.source import JudgeError
from tests.canary.judge.fakeprom import FakeReader, ReplicaPair

CANARY, STABLE = "c0ffee1234", "5ab1e5678"


@dataclass
class Second:
    """One second of traffic per version: requests, 5xx, answer times (ms), and the weight the judge is asked at."""

    weight: float
    canary: tuple = (0, 0, ())
    stable: tuple = (50, 0, ())
    tests: str = "errors,latency"


@dataclass
class Rollout:
    """A fake Prometheus and a judge asked once a second, scraped every ``scrape_s``."""

    scrape_s: int = 1
    # No margin on the slow bound: these replays pin where it lands (the margin has its own test).
    settings: JudgeSettings = field(default_factory=lambda: JudgeSettings(latency_margin_ms=0))
    reader: FakeReader = field(default_factory=FakeReader)
    t: int = 0

    def __post_init__(self):
        self.judge = Analyses(self.settings)

    def serve(self, second: Second, ask: bool = True, skip: str | None = None) -> dict | None:
        """One second of traffic, its scrape (every scrape_s), and a question at its end; the canary's
        counters are born with its first request, as its proxy's are."""
        if second.canary[0] or (CANARY, "born") in self.__dict__:
            self.__dict__[CANARY, "born"] = True
            self.reader.add(CANARY, *second.canary)
        self.reader.add(STABLE, *second.stable)
        self.t += 1
        if self.t % self.scrape_s == 0:
            self.reader.scrape(float(self.t), skip)
        return self.ask(second.weight, second.tests) if ask else None

    def ask(self, weight: float, tests: str, since: float | None = None, judge: Analyses | None = None) -> dict:
        """GET /v1/judge as Argo's web provider asks it."""
        q = Question(CANARY, STABLE, weight, tuple(tests.split(",")), since)
        judge = judge or self.judge
        return judge.get(q, float(self.t), self.reader).answer(self.reader, q, float(self.t))

    def history(self, seconds: int, stable=(50, 0, ())) -> None:
        """Stable alone before the rollout."""
        for _ in range(seconds):
            self.serve(Second(0, (0, 0, ()), stable), ask=False)

    def run(self, seconds: int, second: Second) -> list[dict]:
        """The answers of ``seconds`` seconds of the same traffic."""
        return [self.serve(second) for _ in range(seconds)]


def fails(answers: list[dict]) -> list[str]:
    return [a["summary"] for a in answers if a["decision"] == "fail"]


def slow_share(n: int, share: float, fast_ms: float = 1.5, slow_ms: float = 20.0) -> tuple:
    """n answer times, ``share`` of them over 4 ms."""
    slow = round(n * share)
    return (fast_ms,) * (n - slow) + (slow_ms,) * slow


def test_equally_slow_versions_pass_when_the_latency_bound_is_set_late():
    """The run that aborted a healthy v2: no stable history, a short shadow phase, then 10%; both versions 12%
    over 4 ms. The bound is set only once stable has answered 1000 times, after the shadow phase; every
    window's slow answers are derived from its own bucket counts, none moved into the next window."""
    rollout = Rollout()
    shadow = Second(50, (50, 0, slow_share(50, 0.12)), (50, 0, slow_share(50, 0.12)))
    answers = rollout.run(15, shadow)
    answers += rollout.run(120, Second(10, (5, 0, slow_share(5, 0.2)), (45, 0, slow_share(45, 0.111))))
    assert answers[-1]["latency_bound_ms"] == 8.0 and not fails(answers)
    assert answers[-1]["tests"][1]["stable"]["events"] > 500  # slow answers were counted, in their own cells


def test_a_300_ms_slower_canary_fails_in_the_shadow_phase_on_stables_history():
    """Stable's last ten minutes set the bound before the analysis, so the shadow phase judges latency at once."""
    rollout = Rollout()
    rollout.history(120, (50, 0, slow_share(50, 0.01)))
    answers = rollout.run(10, Second(50, (50, 0, (301.5,) * 50), (50, 0, slow_share(50, 0.01))))
    failed = [i for i, a in enumerate(answers) if a["decision"] == "fail"]
    assert failed and failed[0] <= 4, [a["summary"] for a in answers]
    assert "before the analysis" in answers[failed[0]]["latency_bound_origin"]


def test_a_weight_change_read_a_scrape_late_is_no_evidence_against_an_equal_canary():
    """A/A at 2% errors: a minute of mirror (each version every request), then 10%, scraped every 15 s."""
    rollout = Rollout(scrape_s=15)
    answers = rollout.run(60, Second(50, (50, 1, ()), (50, 1, ())))
    for block in range(30):
        answers += rollout.run(9, Second(10, (5, 0, ()), (45, 1, ())))
        answers += rollout.run(1, Second(10, (5, 1, ()), (45, 0, ())))
    assert not fails(answers)
    # Counted to the last scrape the settled evidence reaches (at 345 s; the next, at 360 s, is not settled).
    assert answers[-1]["tests"][0]["canary"]["requests"] == 50 * 60 + 5 * (345 - 60)


@pytest.mark.parametrize("share", [0.2, 0.25])
def test_a_real_share_above_the_weight_is_no_evidence_against_an_equal_canary(share):
    """Weight 10, but testers' header routes give the canary 20 or 25% of the requests; both at 2% errors."""
    rollout = Rollout()
    canary = round(100 * share)
    answers = []
    for _ in range(150):
        answers += rollout.run(1, Second(10, (canary, 0, ()), (100 - canary, 1, ())))
        answers += rollout.run(1, Second(10, (canary, 2 * canary // 50, ()), (100 - canary, 2 * (100 - canary) // 50 - 1, ())))
    assert not fails(answers), fails(answers)[:1]


def test_a_workload_shift_between_steps_does_not_fail_an_equally_accurate_canary():
    """Both versions 5.6% wrong at the 10% step and 15% at the 50% step: per window they are equal."""
    rollout = Rollout()
    reader = rollout.reader
    answers = []
    for second in range(240):
        weight, rate = (10, 0.056) if second < 120 else (50, 0.15)
        canary_n, stable_n = (100, 900) if weight == 10 else (500, 500)
        reader.add_feedback(CANARY, canary_n * rate, canary_n)
        reader.add_feedback(STABLE, stable_n * rate, stable_n)
        answers.append(rollout.serve(Second(weight, tests="accuracy")))
    assert not fails(answers), fails(answers)[:1]
    assert answers[-1]["tests"][0]["windows"] == 2


def test_a_test_first_asked_mid_analysis_sees_every_earlier_cell_in_its_own_window():
    """The quality metric first asks at the 10% step: the shadow phase's feedback (weight 50) is still its own
    window, not folded into the first cell at 10%."""
    rollout = Rollout()
    for second in range(60):
        weight = 50 if second < 30 else 10
        rollout.reader.add_feedback(CANARY, 5 if weight == 50 else 1, 50 if weight == 50 else 10)
        rollout.reader.add_feedback(STABLE, 5 if weight == 50 else 9, 50 if weight == 50 else 90)
        rollout.serve(Second(weight, (5, 0, ()), (45, 0, ())))
    answer = rollout.ask(10, "accuracy")
    accuracy = answer["tests"][0]
    assert accuracy["windows"] == 2 and accuracy["canary"]["requests"] == 50 * 29 + 10 * 28  # from the start


def test_a_latency_bound_taken_from_the_analysis_judges_only_what_came_after():
    """No history: stable's first 1000 answers in the analysis set the bound, and are not judged against it."""
    rollout = Rollout()
    answers = rollout.run(40, Second(10, (5, 0, slow_share(5, 0.2)), (45, 0, slow_share(45, 0.02))))
    latency, origin = answers[-1]["tests"][1], answers[-1]["latency_bound_origin"]
    assert "over the analysis's first 23 s (judged after them)" in origin, origin
    assert latency["stable"]["requests"] == 45 * (answers[-1]["cells"] - 23), latency["stable"]


def test_a_retried_rollout_is_judged_afresh():
    """A canary failing every request fails; after the abort nobody asks; the retry asks about the same revisions."""
    rollout = Rollout()
    rollout.history(30)
    assert fails(rollout.run(10, Second(10, (5, 5, ()), (45, 0, ()))))
    for _ in range(int(rollout.settings.retry_gap_s)):  # nobody asks for longer than JUDGE_RETRY_GAP_S
        rollout.serve(Second(10, (0, 0, ()), (50, 0, ())), ask=False)  # aborted: the canary has no traffic
    retried = rollout.run(5, Second(10, (5, 0, ()), (45, 0, ())))
    assert retried[0]["decision"] == "continue" and not fails(retried)
    assert retried[0]["started_at"] == rollout.t - 4


@pytest.mark.parametrize("since", [61.0, None], ids=["since in the question", "no since, as Argo asks"])
def test_a_restarted_judge_rebuilds_the_same_evidence(since):
    """Without a start in the question, the judge finds it in Prometheus: where the canary's counters were born."""
    rollout = Rollout()
    rollout.history(60)
    for _ in range(40):
        live = rollout.serve(Second(10, (5, 1, ()), (45, 1, ())), ask=False) or rollout.ask(10, "errors,latency", since)
    rebuilt = rollout.ask(10, "errors,latency", since, judge=Analyses(rollout.settings))
    assert rebuilt["started_at"] == live["started_at"] == 61  # the first scrape that saw the canary
    for a, b in zip(live["tests"], rebuilt["tests"]):
        assert (a["canary"], a["stable"]) == (b["canary"], b["stable"])
        assert a["log_e_values"] == pytest.approx(b["log_e_values"], rel=1e-9)  # summed in another order


def test_a_series_missing_at_the_start_is_not_counted_from_its_birth():
    """Stable's scrape failed at the analysis's first second: its lifetime must not count as the analysis's."""
    rollout = Rollout()
    rollout.history(100)
    rollout.serve(Second(10, (5, 0, ()), (45, 0, ())), ask=False, skip=STABLE)
    first = rollout.ask(10, "errors")
    answers = rollout.run(10, Second(10, (5, 0, ()), (45, 0, ())))
    assert first["tests"][0]["stable"]["requests"] == 0
    assert answers[-1]["tests"][0]["stable"]["requests"] == 45 * 9  # settled cells only, nothing of the history


def test_a_reset_whose_new_value_passes_the_old_one_is_counted_exactly():
    """The canary's process restarts between two questions and, by the next question, has served more than it
    had before: a difference of two readings sees 15 -> 40 and counts 25; every scrape between them is read."""
    rollout = Rollout(settings=JudgeSettings(settle_s=0, latency_margin_ms=0))
    rollout.history(10)
    rollout.run(3, Second(10, (5, 0, ()), (45, 0, ())))  # the analysis starts at the first: 10 counted
    rollout.reader.reset(CANARY)
    rollout.reader.add(CANARY, 10, 0)
    rollout.reader.scrape(rollout.t + 0.5)  # the restarted process, scraped at 10
    rollout.reader.add(CANARY, 30, 0)
    rollout.reader.scrape(rollout.t + 0.75)  # and at 40
    answer = rollout.run(2, Second(10, (5, 0, ()), (45, 0, ())))[-1]
    assert answer["tests"][0]["canary"]["requests"] == 10 + 40 + 5 + 5 and answer["counter_resets"] == 1


def test_the_documented_answer():
    """docs/judge.md's 'Reading an answer': a v2 with 5% errors against stable at 0.1%, 10% weight, 50 rps."""
    rollout, rng = Rollout(settings=JudgeSettings()), np.random.default_rng(3)  # the defaults, as documented
    rollout.history(120, (50, 0, slow_share(50, 0.01)))
    answers = [rollout.serve(Second(10, (5, int(rng.binomial(5, 0.05)), slow_share(5, 0.01)),
                                    (45, int(rng.binomial(45, 0.001)), slow_share(45, 0.01)))) for _ in range(37)]
    first_fail = next(a for a in answers if a["decision"] == "fail")
    assert first_fail["seconds"] == 36 and first_fail["latency_bound_ms"] == 8.0  # stable's p99 (2 ms) + 5 ms
    assert first_fail["summary"].startswith("errors fail (e-value 357 vs 250): canary 9/170 5xx, stable 2/1530")
    table = "\n".join(judge_table(first_fail))
    assert "[3, 6.31e+03]" in table and "[-0.0020, +0.1574]" in table


def test_a_mirror_left_on_top_at_a_weight_is_an_error_not_a_pass():
    """Argo skipped the step that removes the mirror: at 10% the canary still answers a copy of every request."""
    meant, left_on = Rollout(), Rollout()
    for rollout in (meant, left_on):
        rollout.history(30)
    answers = meant.run(120, Second(10, (5, 0, ()), (45, 0, ())))  # 10% as the step meant: judged on
    assert all(a["decision"] in ("continue", "pass") for a in answers)
    # The step before's copies, as a lagging scrape brings them into the step's first 25 s: no error.
    assert left_on.run(25, Second(10, (25, 0, ()), (50, 0, ())))[-1]["decision"] == "continue"
    assert left_on.run(120, Second(10, (5, 0, ()), (45, 0, ())))[-1]["decision"] in ("continue", "pass")
    with pytest.raises(JudgeError) as stuck:  # the shipped mirror (half the predictions) still on top at 10%
        Rollout().run(120, Second(10, (25, 0, ()), (50, 0, ())))
    assert stuck.value.status == 409 and "the routes are not what the step set" in str(stuck.value)
    assert "at weight 10" in str(stuck.value)


def test_header_routed_testers_beside_a_weight_are_no_route_error():
    rollout = Rollout()
    rollout.history(30)
    answers = rollout.run(120, Second(10, (14, 0, ()), (46, 0, ())))  # 23% of requests at 10%: testers too
    assert all(a["decision"] in ("continue", "pass") for a in answers)


def test_queries_that_move_to_the_other_prometheus_replica_keep_the_counts_exact():
    """HA Prometheus: replica B scraped each counter a moment before A and stamps it later (its own clock).
    Read in turn, a counter steps back and the whole value was counted again; after a fail-over the
    counters continue from B's own samples."""
    rollout = Rollout(settings=JudgeSettings(settle_s=0, latency_margin_ms=0), reader=ReplicaPair())
    rollout.history(30)
    rollout.run(20, Second(10, (5, 0, ()), (45, 0, ())))
    rollout.reader.fail_over()
    answers = rollout.run(20, Second(10, (5, 1, ()), (45, 9, ())))
    last = answers[-1]
    assert last["counter_resets"] == 0 and fails(answers) == []
    # Never counted twice; missing at most B's second of lag and the scrape the move skips.
    assert 5 * 38 <= last["tests"][0]["canary"]["requests"] <= 5 * 40
    assert 45 * 38 <= last["tests"][0]["stable"]["requests"] <= 45 * 40
