"""The judge's statistics pinned exactly: each e-value against an independent computation, each decision at
its boundary (one event below and at it), and the confidence sequences against the mixtures they invert."""

import math

import numpy as np
import pytest
from savvi.multinomial import Multinomial
from scipy import integrate, optimize
from scipy import stats as sps

from canary.judge import shares, stats, twosample, verdict
from canary.judge.tally import Tally

TOLERANCE = verdict.Tolerance(0.5, 0.005)
ALPHA = 0.004  # the errors test's share of the default alpha (0.01 x 0.4)


def grid_by_hand(relative: float) -> list[float]:
    """The count test's alternatives as docs/judge.md states them: D0 + log(1 + 0.1 x 1.35^j), j < 24."""
    d0 = math.log(1 + relative)
    return [d0 + math.log(1 + 0.1 * 1.35 ** j) for j in range(24)]


def count_e_by_hand(cells: list[tuple[int, int, int, int]], relative: float) -> float:
    """The count test's e-value, written out: per cell the chance an event is the canary's, theta = n_c e^D /
    (n_c e^D + n_s), a binomial likelihood of the canary's events, the mean over the grid against D0."""
    def likelihood(d: float) -> float:
        total = 0.0
        for xc, nc, xs, ns in cells:
            if xc + xs and nc and ns:
                theta = nc * math.exp(d) / (nc * math.exp(d) + ns)
                total += sps.binom.logpmf(xc, xc + xs, theta) - math.log(math.comb(xc + xs, xc))
        return total
    null = likelihood(math.log(1 + relative))
    return sum(math.exp(likelihood(d) - null) for d in grid_by_hand(relative)) / 24


def cells_of(rows, window=None) -> Tally:
    return Tally(TOLERANCE.relative).add(rows, [0] * len(rows) if window is None else window)


@pytest.mark.parametrize("cells", [
    [(3, 10, 0, 90)],
    [(1, 5, 2, 45), (4, 50, 3, 50), (0, 5, 1, 45)],  # shares 0.1, 0.5, 0.1 cell by cell
    [(7, 70, 2, 630)],
    [(0, 100, 6, 900)],
])
def test_the_count_e_value_equals_the_one_written_out(cells):
    got = shares.log_e_from_likelihood(Tally(0.5).add(cells, [0] * len(cells)).ll_grid)
    assert got == pytest.approx(math.log(count_e_by_hand(cells, 0.5)), abs=1e-9)


def test_the_count_test_takes_the_measured_share_not_the_weight():
    """The same events at a share of 0.2 are weaker evidence than at 0.1: the canary served twice as many."""
    at_01 = shares.log_e_from_likelihood(cells_of([(4, 10, 6, 90)]).ll_grid)
    at_02 = shares.log_e_from_likelihood(cells_of([(4, 20, 6, 80)]).ll_grid)
    assert at_02 < at_01 and at_02 == pytest.approx(math.log(count_e_by_hand([(4, 20, 6, 80)], 0.5)), abs=1e-9)


def test_the_absolute_e_value_equals_its_mixtures_over_the_null_maximum():
    """Canary mixed over the harm grid, stable over its prior, against the best (pc, ps) with pc <= ps + 0.005."""
    xc, nc, xs, ns, prior = 6, 100, 2, 900, (1.5, 999.5)
    grid = twosample.harm_grid(verdict.harm_floor(prior, TOLERANCE))
    canary = math.log(np.mean([p ** xc * (1 - p) ** (nc - xc) for p in grid]))
    stable = math.log(sps.betabinom.pmf(xs, ns, *prior) / math.comb(ns, xs))
    loglik = lambda ps: xc * math.log(ps + 0.005) + (nc - xc) * math.log(0.995 - ps) + xs * math.log(ps) + (ns - xs) * math.log(1 - ps)  # noqa: E731
    best = -optimize.minimize_scalar(lambda ps: -loglik(ps), bounds=(1e-9, 0.5), method="bounded",
                                     options={"xatol": 1e-12}).fun
    got = verdict.log_e_absolute(cells_of([(xc, nc, xs, ns)]), TOLERANCE, prior)
    assert got == pytest.approx(canary + stable - best, abs=1e-6)


def _first_fail(rows_at):
    """The first n whose cells fail, with the results at n - 1 and n."""
    for n in range(1, 400):
        result = verdict.evaluate("errors", cells_of(rows_at(n)), TOLERANCE, ALPHA)
        if result["verdict"] == verdict.FAIL:
            return n, verdict.evaluate("errors", cells_of(rows_at(n - 1)), TOLERANCE, ALPHA), result
    raise AssertionError("never failed")


@pytest.mark.parametrize("rows_at, expected", [
    (lambda n: [(1, 1, 0, 9)] * n, 4),  # every canary request fails, one a cell at 10%
    (lambda n: [(1, 10, 0, 90)] * n, 6),  # a tenth of them
    (lambda n: [(1, 20, 0, 180)] * n, 9),  # a twentieth
])
def test_fail_comes_at_the_event_that_brings_both_e_values_to_one_over_alpha(rows_at, expected):
    n, before, at = _first_fail(rows_at)
    assert n == expected
    level = math.log(1 / ALPHA)
    assert min(at["log_e_values"].values()) >= level > min(before["log_e_values"].values())
    assert at["log_e_values"]["relative"] == pytest.approx(math.log(count_e_by_hand(rows_at(n), 0.5)), abs=1e-9)
    assert before["verdict"] == verdict.INCONCLUSIVE


def test_the_threshold_is_one_over_alpha_not_more():
    """Evidence between 1/alpha and 2/alpha fails; a threshold of 2/alpha would not."""
    rows = [(1, 10, 0, 90)] * 6
    result = verdict.evaluate("errors", cells_of(rows), TOLERANCE, ALPHA)
    assert math.log(1 / ALPHA) <= result["log_e_value"] < math.log(2 / ALPHA)
    assert result["verdict"] == verdict.FAIL and result["threshold"] == 1 / ALPHA


@pytest.mark.parametrize("stable_rate, canary_rate", [(0.0001, 0.0003), (0.20, 0.208)])
def test_harm_needs_both_tolerances_exceeded(stable_rate, canary_rate):
    """3x worse but 0.02 points (inside +0.005), and 0.8 points worse but 1.04x (inside 1.5x): neither fails."""
    n = 10_000_000  # enough that each tolerance alone is decided
    result = verdict.evaluate("errors", cells_of([(round(canary_rate * n), n, round(stable_rate * n), n)]),
                              TOLERANCE, ALPHA)
    assert result["verdict"] == verdict.PASS, result["reason"]


def test_pass_needs_the_ratio_under_the_factor_or_the_gap_under_the_tolerance():
    """Ratio's upper end between 1.5 and 2.5 and the gap's above 0.005: inconclusive, not pass."""
    result = verdict.evaluate("errors", cells_of([(100, 1000, 100, 1000)]), TOLERANCE, ALPHA)
    assert 1.5 < result["ratio"]["upper"] < 2.5 and result["difference"]["upper"] > 0.005
    assert result["verdict"] == verdict.INCONCLUSIVE
    by_ratio = verdict.evaluate("errors", cells_of([(2000, 20000, 2000, 20000)]), TOLERANCE, ALPHA)
    assert by_ratio["ratio"]["upper"] <= 1.5 and by_ratio["difference"]["upper"] > 0.005
    assert by_ratio["verdict"] == verdict.PASS
    by_gap = verdict.evaluate("errors", cells_of([(10, 20000, 11, 20000)]), TOLERANCE, ALPHA)
    assert by_gap["ratio"]["upper"] > 1.5 and by_gap["difference"]["upper"] <= 0.005
    assert by_gap["verdict"] == verdict.PASS
    few = verdict.evaluate("errors", cells_of([(0, 20, 0, 20)]), TOLERANCE, ALPHA)
    assert few["difference"]["upper"] > 0.005 and few["verdict"] == verdict.INCONCLUSIVE


def test_the_rates_are_confidence_sequences_at_half_the_tests_alpha():
    result = verdict.evaluate("errors", cells_of([(7, 70, 2, 630)]), TOLERANCE, ALPHA)
    for side, (events, trials) in (("canary", (7, 70)), ("stable", (2, 630))):
        crossing = lambda p: stats.log_mixture_lr(events, trials - events, 0.5, 0.5, p) - math.log(2 / ALPHA)  # noqa: E731
        lower = optimize.brentq(crossing, 1e-12, events / trials)
        upper = optimize.brentq(crossing, events / trials, 1 - 1e-12)
        assert (result[side]["lower"], result[side]["upper"]) == pytest.approx((lower, upper), rel=1e-6)
    assert result["difference"]["lower"] == pytest.approx(result["canary"]["lower"] - result["stable"]["upper"])
    assert result["difference"]["upper"] == pytest.approx(result["canary"]["upper"] - result["stable"]["lower"])


def test_the_ratio_sequence_holds_the_estimate_and_excludes_what_the_data_reject():
    estimate, lower, upper = shares.ratio_sequence_from(cells_of([(30, 100, 30, 900)]).ll_span, 0.01)
    assert lower < estimate < upper and lower > 1.5 and estimate == pytest.approx(9, rel=0.06)
    assert shares.ratio_sequence_from(cells_of([(0, 0, 0, 0)]).ll_span, 0.01) == (None, None, None)


def test_windows_multiply_in_the_absolute_part():
    one, two = (3, 50, 1, 450), (9, 250, 4, 250)
    both = verdict.log_e_absolute(cells_of([one, two], [0, 1]), TOLERANCE, stats.JEFFREYS)
    assert both == pytest.approx(verdict.log_e_absolute(cells_of([one]), TOLERANCE, stats.JEFFREYS)
                                 + verdict.log_e_absolute(cells_of([two]), TOLERANCE, stats.JEFFREYS))


@pytest.mark.parametrize("hits, misses, p0", [(70, 430, 0.1), (0, 50, 0.1), (12, 0, 0.1), (30, 40, 0.5), (5, 995, 0.02)])
def test_the_beta_mixture_equals_savvis(hits, misses, p0):
    """Lindon & Malek's own implementation: its odds for two categories are this mixture's ratio, with the
    worked check (rho 0.1, k 100, 70 and 430 events: E = 10.606) among them."""
    reference = Multinomial(0.01, np.array([p0, 1 - p0]), k=100)
    reference.update(np.array([hits, misses]))
    got = math.exp(stats.log_mixture_lr(hits, misses, 100 * p0, 100 * (1 - p0), p0))
    assert got == pytest.approx(reference.odds, rel=1e-9)
    if (hits, misses) == (70, 430):
        assert got == pytest.approx(10.606, abs=5e-4)


@pytest.mark.parametrize("events, trials", [(3, 100), (0, 1000), (60, 60), (500, 10000)])
def test_rate_sequence_bounds_are_where_the_mixture_crosses_one_over_alpha(events, trials):
    lower, upper = stats.rate_sequence(events, trials, 0.01)
    for bound, edge in ((lower, 0.0), (upper, 1.0)):
        if bound != edge:
            assert stats.log_mixture_lr(events, trials - events, 0.5, 0.5, bound) == pytest.approx(math.log(100), abs=1e-6)
    assert lower <= events / trials <= upper


@pytest.mark.parametrize("x, y, p0", [(3, 40, 0.05), (0, 50, 0.1), (12, 3, 0.3)])
def test_the_truncated_mixture_is_the_integral_over_rates_above_p0(x, y, p0):
    a, b = stats.JEFFREYS
    integrand = lambda p: math.exp(x * math.log(p / p0) + y * math.log((1 - p) / (1 - p0))) * sps.beta.pdf(p, a, b)  # noqa: E731
    mass, _ = integrate.quad(integrand, p0, 1, limit=200)
    assert float(stats.log_truncated_lr(x, y, a, b, p0)) == pytest.approx(math.log(mass / sps.beta.sf(p0, a, b)), rel=1e-5)
