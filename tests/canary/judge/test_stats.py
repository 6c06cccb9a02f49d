"""The judge's statistics against known values, against savvi (Lindon & Malek's own implementation)
and against numerical integration of the same mixtures."""

import math

import numpy as np
import pytest
from savvi.multinomial import Multinomial
from scipy import integrate, stats as sps

from canary.judge import stats, verdict

COUNTS = [(70, 430, 0.1), (0, 50, 0.1), (12, 0, 0.1), (30, 40, 0.5), (5, 995, 0.02), (400, 3600, 0.1)]


def test_the_worked_check():
    """rho 0.1, k 100, 70 canary and 430 stable events, alpha 0.01: E = 10.606, D in [-0.101, 0.815]."""
    assert math.exp(stats.log_mixture_lr(70, 430, 10, 90, 0.1)) == pytest.approx(10.606, abs=5e-4)
    _, lower, upper = stats.ratio_sequence([stats.Segment(0.1, 70, 430)], 0.01, 100)
    assert (math.log(lower), math.log(upper)) == pytest.approx((-0.101, 0.815), abs=5e-4)


@pytest.mark.parametrize("canary, stable, rho", COUNTS)
def test_e_value_and_confidence_sequence_equal_savvis(canary, stable, rho):
    reference = Multinomial(0.01, np.array([rho, 1 - rho]), k=100)
    reference.update(np.array([canary, stable]))
    reference.infer()
    assert math.exp(stats.log_mixture_lr(canary, stable, 100 * rho, 100 * (1 - rho), rho)) == pytest.approx(
        reference.odds, rel=1e-9)
    lo_theta, hi_theta = reference.conf_int[0]
    _, lower, upper = stats.ratio_sequence([stats.Segment(rho, canary, stable)], 0.01, 100)
    to_ratio = lambda t: t / (1 - t) * (1 - rho) / rho  # noqa: E731
    if lower is not None:
        assert lower == pytest.approx(to_ratio(lo_theta), rel=1e-3)
    if upper is not None:
        assert upper == pytest.approx(to_ratio(hi_theta), rel=1e-3)


@pytest.mark.parametrize("canary, stable, rho", COUNTS)
@pytest.mark.parametrize("eps", [0.0, 0.5, 2.0])
def test_the_one_sided_e_value_is_the_truncated_mixture_integrated(canary, stable, rho, eps):
    a, b = 10 * rho, 10 * (1 - rho)
    p0 = float(stats.theta(rho, math.log1p(eps)))
    log_lik = lambda t: canary * math.log(t) + stable * math.log1p(-t) - (canary * math.log(p0) + stable * math.log1p(-p0))  # noqa: E731
    mass, _ = integrate.quad(lambda t: math.exp(log_lik(t)) * sps.beta.pdf(t, a, b), p0, 1, limit=200, points=[0.999])
    prior = sps.beta.sf(p0, a, b)
    assert stats.log_e_harm([stats.Segment(rho, canary, stable)], eps, 10) == pytest.approx(
        math.log(mass / prior), rel=1e-4, abs=1e-6)


def test_segments_multiply():
    one, two = stats.Segment(0.1, 8, 30), stats.Segment(0.5, 20, 10)
    both = stats.log_e_harm([one, two], 0.5, 10)
    assert both == pytest.approx(stats.log_e_harm([one], 0.5, 10) + stats.log_e_harm([two], 0.5, 10))
    assert stats.log_e_harm([stats.Segment(0.0, 5, 5), stats.Segment(1.0, 5, 0)], 0.5, 10) == 0  # no information


@pytest.mark.parametrize("events, trials", [(3, 100), (0, 1000), (60, 60), (500, 10000)])
def test_rate_sequence_bounds_are_where_the_mixture_crosses_one_over_alpha(events, trials):
    lower, upper = stats.rate_sequence(events, trials, 0.01)
    for bound, edge in ((lower, 0.0), (upper, 1.0)):
        if bound != edge:
            assert stats.log_mixture_lr(events, trials - events, 0.5, 0.5, bound) == pytest.approx(math.log(100), abs=1e-6)
    assert lower <= events / trials <= upper


def test_a_a_false_fails_stay_under_alpha_when_looking_every_second():
    """Canary = stable at 1% errors, 50 rps at 10%, 10 minutes, a look per second, 400 seeded runs."""
    rng = np.random.default_rng(7)
    fails = 0
    for _ in range(400):
        requests = rng.poisson(50, 600)
        canary_req = rng.binomial(requests, 0.1)
        c_err, s_err = rng.binomial(canary_req, 0.01).cumsum(), rng.binomial(requests - canary_req, 0.01).cumsum()
        log_e = stats.log_truncated_lr(c_err, s_err, 1.0, 9.0, float(stats.theta(0.1, math.log1p(0.5))))
        fails += bool((log_e >= math.log(100)).any())
    assert fails / 400 <= 0.01


def test_a_canary_at_100_percent_errors_fails_within_ten_events():
    for n in range(1, 11):
        result = verdict.evaluate("errors", [verdict.Window(0.1, n, n, 0, 9 * n)], verdict.Tolerance(0.5, 0.005), 0.005, 10)
        if result["verdict"] == verdict.FAIL:
            break
    assert result["verdict"] == verdict.FAIL and n <= 10, result["reason"]


def test_stable_at_0_1_percent_and_canary_at_4_percent_fails_a_threshold_would_pass():
    windows = [verdict.Window(0.1, 160, 4000, 36, 36000)]
    result = verdict.evaluate("errors", windows, verdict.Tolerance(0.5, 0.005), 0.005, 10)
    assert result["verdict"] == verdict.FAIL and 1 - 160 / 4000 >= 0.95


def test_a_canary_as_good_as_stable_passes_once_the_data_rule_harm_out():
    windows = [verdict.Window(0.5, 10, 20000, 11, 20000)]
    assert verdict.evaluate("errors", windows, verdict.Tolerance(0.5, 0.005), 0.005, 10)["verdict"] == verdict.PASS
    few = [verdict.Window(0.5, 0, 20, 0, 20)]
    assert verdict.evaluate("errors", few, verdict.Tolerance(0.5, 0.005), 0.005, 10)["verdict"] == verdict.INCONCLUSIVE


@pytest.mark.parametrize("stable_rate, canary_rate", [(0.0001, 0.0003), (0.20, 0.208)])
def test_harm_needs_both_tolerances_exceeded(stable_rate, canary_rate):
    """3x worse but 0.02 points (inside +0.005), and 0.8 points worse but 1.04x (inside 1.5x): neither fails."""
    n = 10_000_000  # enough that each tolerance alone is decided
    windows = [verdict.Window(0.5, round(canary_rate * n), n, round(stable_rate * n), n)]
    result = verdict.evaluate("errors", windows, verdict.Tolerance(0.5, 0.005), 0.005, 5)
    assert result["verdict"] == verdict.PASS, result["reason"]


def test_an_all_failing_canary_fails_on_its_fifth_error_with_stable_clean():
    tolerance = verdict.Tolerance(0.5, 0.005)
    five = verdict.evaluate("errors", [verdict.Window(0.1, 5, 5, 0, 45)], tolerance, 0.005, 1)
    four = verdict.evaluate("errors", [verdict.Window(0.1, 4, 4, 0, 36)], tolerance, 0.005, 1)
    assert five["verdict"] == verdict.FAIL and four["verdict"] == verdict.INCONCLUSIVE


def test_a_canary_at_10_percent_errors_fails_through_the_ratio_before_stables_rate_is_pinned():
    """7 of 70 against 0 of 630 (14 s at 50 rps, 10%): stable's upper rate alone leaves the gap unproven."""
    result = verdict.evaluate("errors", [verdict.Window(0.1, 7, 70, 0, 630)], verdict.Tolerance(0.5, 0.005), 0.005, 1)
    assert result["verdict"] == verdict.FAIL, result["reason"]
    assert result["canary"]["lower"] - result["stable"]["upper"] < 0.005 < result["difference"]["lower"]


def test_the_bound_through_the_ratio_is_not_used_when_the_ratio_may_be_under_one():
    """4 of 4 against 0 of 36 leaves a ratio under 1 possible: the difference may be negative, and says so."""
    result = verdict.evaluate("errors", [verdict.Window(0.1, 4, 4, 0, 36)], verdict.Tolerance(0.5, 0.005), 0.005, 1)
    assert result["ratio"]["lower"] < 1 and result["difference"]["lower"] < 0


@pytest.mark.parametrize("stable_rate, rps, rho", [(0.001, 50, 0.1), (0.05, 400, 0.5)])
def test_the_difference_bound_covers_the_true_difference_at_every_look(stable_rate, rps, rho):
    """Canary at stable + 0.005 (the edge; 6x and 1.1x worse), 300 seeded runs of 600 looks: misses stay under alpha."""
    rng, alpha, misses = np.random.default_rng(11), 0.01, 0
    for _ in range(300):
        requests = rng.poisson(rps, 600)
        cn = rng.binomial(requests, rho)
        ce, se = rng.binomial(cn, stable_rate + 0.005), rng.binomial(requests - cn, stable_rate)
        cn, ce, sn, se = cn.cumsum(), ce.cumsum(), (requests - cn).cumsum(), se.cumsum()
        lower_c, _ = stats.rate_bounds(ce, cn, alpha / 3)
        _, upper_s = stats.rate_bounds(se, sn, alpha / 3)
        ratio = stats.ratio_lower_bounds(ce, se, rho, alpha / 3, 1.0)
        misses += bool((stats.gap_lower_bounds(lower_c, upper_s, ratio) > 0.005).any())
    assert misses / 300 <= alpha


@pytest.mark.parametrize("canary, stable", [(5, 0), (12, 30), (40, 100), (3, 300)])
def test_the_vectorised_ratio_bound_is_the_confidence_sequences_lower_end(canary, stable):
    _, lower, _ = stats.ratio_sequence([stats.Segment(0.1, canary, stable)], 0.004, 1.0)
    fast = stats.ratio_lower_bounds(np.array([canary], float), np.array([stable], float), 0.1, 0.004, 1.0)[0]
    assert fast == pytest.approx(lower, rel=1e-5)


def test_segments_no_single_ratio_fits_give_an_unbounded_sequence_not_an_error():
    """A canary clean at 10% and failing everything at 50%: the sequence is empty at this level, and a
    judge answer (the e-value decides) rather than a crash that aborts the rollout as an Error."""
    segments = [stats.Segment(0.1, 0, 400), stats.Segment(0.5, 300, 0)]
    estimate, lower, upper = stats.ratio_sequence(segments, 0.0033, 1.0)
    assert lower is None and upper is None
    doc = verdict.evaluate("errors", [verdict.Window(0.1, 0, 4000, 400, 36000), verdict.Window(0.5, 300, 300, 0, 300)],
                           verdict.Tolerance(0.5, 0.005), 0.005, 1.0)
    assert doc["verdict"] in ("fail", "inconclusive")
