"""The quality tests' statistics: against numerical integration and a brute-force search of the null, and
their false-fail rates in seeded simulations."""

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import xlog1py, xlogy

from canary.judge import quality, twosample

FEEDBACK = [(30, 100, 5, 400, 0.02), (3, 10, 1, 90, 0.02), (10, 200, 8, 1800, 0.0), (0, 50, 0, 450, 0.02),
            (60, 200, 20, 1800, 0.05)]


def _log_marginal(x: int, n: int) -> float:
    """The Jeffreys mixture's probability of the sequence, integrated numerically (p = sin(u)^2 takes the
    prior's poles away: Beta(1/2, 1/2) is then uniform in u)."""
    value, _ = integrate.quad(lambda u: math.sin(u) ** (2 * x) * math.cos(u) ** (2 * (n - x)) * 2 / math.pi,
                              0, math.pi / 2, limit=400, epsabs=0, epsrel=1e-10)
    return math.log(value)


@pytest.mark.parametrize("xc, nc, xs, ns, tol", FEEDBACK)
def test_the_accuracy_e_value_is_the_mixtures_over_the_null_s_best_fit(xc, nc, xs, ns, tol):
    grid = np.linspace(0.0, 1 - tol, 200001)  # stable's rate; the canary's is at the boundary or its own best
    pc = np.where(xc / max(nc, 1) <= grid + tol, xc / max(nc, 1), grid + tol)
    loglik = xlogy(xc, pc) + xlog1py(nc - xc, -pc) + xlogy(xs, grid) + xlog1py(ns - xs, -grid)
    expected = _log_marginal(xc, nc) + _log_marginal(xs, ns) - loglik.max()
    assert twosample.log_e_worse(xc, nc, xs, ns, tol) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("xc, nc, xs, ns, tol", FEEDBACK + [(80, 100, 300, 900, 0.1), (2, 100, 90, 900, 0.1)])
def test_the_class_share_e_value_is_the_mixtures_over_the_null_s_best_fit(xc, nc, xs, ns, tol):
    grid = np.linspace(0.0, 1.0, 200001)  # stable's share; the canary's at its own best inside the factor, or the edge
    pc = np.clip(xc / nc, grid / (1 + tol), np.minimum(grid * (1 + tol), 1.0))
    loglik = xlogy(xc, pc) + xlog1py(nc - xc, -pc) + xlogy(xs, grid) + xlog1py(ns - xs, -grid)
    expected = _log_marginal(xc, nc) + _log_marginal(xs, ns) - loglik.max()
    assert float(quality.log_e_ratio(xc, nc, xs, ns, tol)) == pytest.approx(expected, abs=1e-4)
    if tol == 0:
        assert float(quality.log_e_ratio(np.array([xc]), np.array([nc]), np.array([xs]), np.array([ns]), 0.0)[0]) == \
            pytest.approx(expected, abs=1e-4)


def test_accuracy_a_a_false_fails_stay_under_alpha_looking_every_second():
    rng, runs = np.random.default_rng(11), 2000
    # 5 feedbacks a second, a tenth from the canary, both 5% incorrect, a look every 10 s for 300 s, all runs at once
    c = rng.binomial(1, 0.05, size=(runs, 300)).cumsum(axis=1)[:, ::10]
    s = rng.binomial(9, 0.05, size=(runs, 300)).cumsum(axis=1)[:, ::10]
    n = np.arange(1, 301)[::10]
    log_e = twosample.log_e_worse(c, n, s, 9 * n, 0.0)
    assert (log_e >= math.log(100)).any(axis=1).mean() <= 0.01


def test_class_mix_a_a_false_fails_stay_under_alpha_looking_every_second():
    rng, runs = np.random.default_rng(12), 10000
    shares = [0.33, 0.40, 0.27]  # 50 predictions a second at weight 10, for 300 s, every run at once
    canary = rng.multinomial(5, shares, size=(runs, 300)).cumsum(axis=1)
    stable = rng.multinomial(45, shares, size=(runs, 300)).cumsum(axis=1)
    n_c, n_s = canary.sum(-1, keepdims=True), stable.sum(-1, keepdims=True)
    log_e = quality.log_e_ratio(canary, n_c, stable, n_s, 0.0)  # by class, at the union bound's level
    assert ((log_e >= math.log(3 / 0.01)).any(axis=(1, 2))).mean() <= 0.01


def test_the_class_mix_fails_on_its_worst_class_at_the_union_bounds_level():
    doc = quality.class_mix([({"a": 300, "b": 700}, {"a": 1800, "b": 7200})], 0.1, 0.01)
    assert doc["verdict"] == "fail" and doc["threshold"] == 200 and "share of a" in doc["reason"]
    assert doc["log_e_value"] == max(doc["by_class_log_e"].values())
    assert quality.class_mix([({"a": 0}, {"a": 90})], 0.1, 0.01)["verdict"] == "inconclusive"  # the canary not yet scraped


def test_a_thirty_percent_wrong_canary_fails_accuracy_on_a_few_dozen_feedbacks():
    rng = np.random.default_rng(13)
    c = rng.binomial(1, 0.3, size=200).cumsum()
    s = rng.binomial(1, 0.01, size=(200, 9)).sum(1).cumsum()
    first = next(t for t in range(200) if quality.accuracy([(int(c[t]), t + 1, int(s[t]), 9 * (t + 1))], 0.02,
                                                           0.005)["verdict"] == "fail")
    assert first < 60


def _a_a_fail_share(rng, runs: int, past_p: float, now_p: float, tol: float, alpha: float = 0.01) -> float:
    """A/A at the null's edge (canary exactly ``tol`` worse), stable's prior from 3000 earlier feedbacks at past_p,
    looking every second for 300 s at 5 feedbacks a second, a tenth from the canary."""
    x0 = rng.binomial(3000, past_p, size=(runs, 1))
    prior = twosample.informed_prior((x0, 3000), 1000)
    c = rng.binomial(1, now_p + tol, size=(runs, 300)).cumsum(axis=1)
    s = rng.binomial(9, now_p, size=(runs, 300)).cumsum(axis=1)
    n = np.arange(1, 301)
    log_e = twosample.log_e_worse(c, n, s, 9 * n, tol, stable_prior=prior)
    return float((log_e >= math.log(1 / alpha)).any(axis=1).mean())


@pytest.mark.parametrize("past_p", [0.05, 0.005, 0.2])
def test_an_informed_stable_prior_keeps_a_a_false_fails_under_alpha_even_when_the_past_misleads(past_p):
    assert _a_a_fail_share(np.random.default_rng(21), 4000, past_p, 0.05, 0.02) <= 0.01


def test_an_informed_stable_prior_is_stables_past_capped_and_catches_a_wrong_canary_sooner():
    assert twosample.informed_prior((0, 0), 1000) == (0.5, 0.5)
    assert twosample.informed_prior((50, 1000), 1000) == (50.5, 950.5)
    assert twosample.informed_prior((500, 10000), 1000) == (50.5, 950.5)  # 10 000 answers weigh as 1000
    assert twosample.informed_prior((50, 1000), 0) == (0.5, 0.5)
    # A 30%-wrong canary against a 5% stable: a prior where stable has been saves most of its side's penalty.
    flat = twosample.log_e_worse(15, 50, 22, 450, 0.02)
    informed = twosample.log_e_worse(15, 50, 22, 450, 0.02, stable_prior=twosample.informed_prior((50, 1000), 1000))
    assert informed - flat > 1.5


def test_a_workload_shift_between_windows_is_no_evidence_against_a_canary_as_good_as_stable():
    """Both versions 5.6% wrong at the 10% step and 15% at the 50% step (the labels' mix moved): pooled, the
    canary (more of its feedback in the harder window) reads 4 points worse; per window it is as good."""
    windows = [(224, 4000, 2016, 36000), (6000, 40000, 6000, 40000)]
    pooled = twosample.log_e_worse(*(sum(w[i] for w in windows) for i in range(4)), 0.02)
    assert pooled > math.log(100)  # what pooling every window's counts concluded
    assert quality.accuracy(windows, 0.02, 0.01)["verdict"] != "fail"
    assert quality.accuracy(windows, 0.02, 0.01)["windows"] == 2
    mix = [({"a": 100, "b": 900}, {"a": 900, "b": 8100}), ({"a": 5000, "b": 5000}, {"a": 5000, "b": 5000})]
    assert quality.class_mix(mix, 0.1, 0.01)["verdict"] != "fail"
    pooled_mix = [({"a": 5100, "b": 5900}, {"a": 5900, "b": 13100})]
    assert quality.class_mix(pooled_mix, 0.1, 0.01)["verdict"] == "fail"
