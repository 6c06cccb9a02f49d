"""The judge's guarantee and power in simulation, at a size for every test run (docs/benchmarks.md has 10 000 a row)."""

import numpy as np
import pytest

from bench import judge as bench
from bench.judge_sim import Phase, draw, fail_times, judge_log_e, oracle_log_e, windows
from canary.judge.settings import JudgeSettings

SETTINGS = JudgeSettings()


def test_every_a_a_condition_keeps_false_fails_under_the_rollouts_alpha():
    """Lag at each weight change, a real share above the weight, a workload shift, a restart, a counter reset."""
    rows = bench.false_fails(np.random.default_rng(8), 600, 50.0, SETTINGS)
    assert len(rows) == 11
    # The errors test's own share of alpha: a judge that took the weight for the share breaks it at the edge.
    assert all(share <= SETTINGS.alpha * SETTINGS.alpha_shares["errors"] for _, share in rows), rows


@pytest.mark.parametrize("base, rate, mirror", [(0.001, 0.03, False), (0.005, 0.05, False), (0.001, 0.03, True)])
def test_the_median_time_to_fail_is_within_one_and_a_half_times_the_oracles(base, rate, mirror):
    phases = [Phase(400, 0.1, rate, base, mirror)]
    counts = draw(np.random.default_rng(9), 600, phases, 50.0)
    alpha = SETTINGS.alpha * SETTINGS.alpha_shares["errors"]
    judge = fail_times(judge_log_e(counts, windows(phases, 0, None), SETTINGS, bench.prior_of(base, SETTINGS)), alpha)
    oracle = fail_times(oracle_log_e(counts, phases, SETTINGS), alpha)
    assert np.median(judge) <= 1.5 * np.median(oracle), (np.median(judge), np.median(oracle))


def test_the_oracle_needs_no_more_evidence_than_it_should():
    """A sanity bound on the yardstick: against a 100% failing canary both fail in the first second."""
    phases = [Phase(30, 0.1, 1.0, 0.001)]
    counts = draw(np.random.default_rng(10), 200, phases, 50.0)
    alpha = SETTINGS.alpha * SETTINGS.alpha_shares["errors"]
    assert np.median(fail_times(oracle_log_e(counts, phases, SETTINGS), alpha)) == 1
    assert np.median(fail_times(judge_log_e(counts, windows(phases, 0, None), SETTINGS), alpha)) == 1
