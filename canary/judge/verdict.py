"""One judged test: canary against stable on one kind of event, with a relative and an absolute tolerance.

Harm is "the canary's rate is above stable's times (1 + relative) AND above stable's plus
absolute". Its null is the union of two nulls, so `fail` needs both rejected, each at the
test's full level (an intersection-union test keeps that level):

- relative: the count test with the share measured cell by cell (``shares``), exact under
  any time trend the two versions share and whatever the real share of traffic;
- absolute: a two-sample e-value on the rates (``twosample.log_e_worse``: Beta mixtures over
  the least favourable pair of rates in the null), one per window of the analysis (a
  traffic weight) and multiplied, so a workload that changes between steps is never
  compared across them; stable's rate before the analysis is its prior.

`pass` rules harm out on either side. Both are anytime-valid.
"""

import math
from dataclasses import dataclass
from typing import Any

from canary.judge import shares, stats, twosample
from canary.judge.tally import Tally

FAIL, PASS, INCONCLUSIVE = "fail", "pass", "inconclusive"


@dataclass(frozen=True)
class Tolerance:
    """How much worse than stable the canary may be: a factor and a difference of rates."""

    relative: float
    absolute: float


def _side(events: int, trials: int, alpha: float) -> dict[str, Any]:
    lower, upper = stats.rate_sequence(events, trials, alpha)
    return {"events": events, "requests": trials, "rate": events / trials if trials else None,
            "lower": lower, "upper": upper}


def log_e_absolute(cells: Tally, tolerance: Tolerance, stable_prior: tuple[float, float]) -> float:
    """log e-value against "the canary's rate is at most stable's + absolute": windows multiplied.

    The canary's rate is mixed over harmful rates only: above where harm starts at stable's
    prior rate, a point fixed before the analysis's data.
    """
    grid = twosample.harm_grid(harm_floor(stable_prior, tolerance))
    return float(sum(twosample.log_e_worse(xc, nc, xs, ns, tolerance.absolute, grid, stable_prior)
                     for xc, nc, xs, ns in cells.by_window()))


def harm_floor(stable_prior: tuple[float, float], tolerance: Tolerance) -> float:
    """The rate beyond which a canary is harmful when stable's rate is its prior mean (with no history to
    speak of, the absolute tolerance: harm is never below it)."""
    a, b = stable_prior
    if a + b < 100:
        return tolerance.absolute
    mean = a / (a + b)
    return max(mean * (1 + tolerance.relative), mean + tolerance.absolute)


def evaluate(name: str, cells: Tally, tolerance: Tolerance, alpha: float,
             stable_prior: tuple[float, float] = stats.JEFFREYS) -> dict[str, Any]:
    """The test's e-values, estimates, confidence sequences, counts and verdict at level ``alpha``
    (``cells`` tallied at the tolerance's relative edge)."""
    log_relative = float(shares.log_e_from_likelihood(cells.ll_grid))
    log_absolute = log_e_absolute(cells, tolerance, stable_prior)
    log_e, level = min(log_relative, log_absolute), math.log(1 / alpha)
    estimate, lower, upper = shares.ratio_sequence_from(cells.ll_span, alpha)
    xc, nc, xs, ns = cells.totals()
    canary, stable = _side(xc, nc, alpha / 2), _side(xs, ns, alpha / 2)
    gap_lower, gap_upper = canary["lower"] - stable["upper"], canary["upper"] - stable["lower"]
    if log_e >= level:
        verdict, reason = FAIL, (f"e-values {stats.e_value(log_relative):.3g} (x{1 + tolerance.relative:g}) and "
                                 f"{stats.e_value(log_absolute):.3g} (+{tolerance.absolute:g}) >= {1 / alpha:.3g}")
    elif (upper is not None and upper <= 1 + tolerance.relative) or gap_upper <= tolerance.absolute:
        verdict, reason = PASS, "harm beyond the tolerance is ruled out"
    else:
        verdict, reason = INCONCLUSIVE, _why_not(log_relative >= level, log_absolute >= level, log_e, alpha)
    return {"name": name, "verdict": verdict, "reason": reason, "alpha": alpha,
            "e_value": stats.e_value(log_e), "log_e_value": log_e, "threshold": 1 / alpha,
            "log_e_values": {"relative": log_relative, "absolute": log_absolute},
            "ratio": {"estimate": estimate, "lower": lower, "upper": upper},
            "difference": {"lower": gap_lower, "upper": gap_upper},
            "tolerance": {"relative": tolerance.relative, "absolute": tolerance.absolute},
            "canary": canary, "stable": stable, "windows": len(cells.windows)}


def _why_not(relative_harm: bool, absolute_harm: bool, log_e: float, alpha: float) -> str:
    if relative_harm:
        return "worse by the factor, not yet by the absolute tolerance"
    if absolute_harm:
        return "worse by the absolute tolerance, not yet by the factor"
    return f"e-value {stats.e_value(log_e):.3g} < {1 / alpha:.3g}: not enough evidence either way"


_UNITS = {"errors": "5xx", "accuracy": "incorrect", "class_mix": "predictions", "disagreement": "pairs disagree"}


def summary(results: list[dict[str, Any]], slow: str) -> str:
    """One line a person can follow: each test's verdict and the counts behind it (``slow``: the latency
    test's unit, as canary.judge.evidence words it)."""
    parts = []
    for r in results:
        what = _UNITS.get(r["name"], slow)
        c, st = r["canary"], r["stable"]
        counts = {"class_mix": f"canary {c['events']} {what}, stable {st['events']}",
                  "disagreement": f"{c['events']}/{c['requests']} {what}"}.get(
            r["name"], f"canary {c['events']}/{c['requests']} {what}, stable {st['events']}/{st['requests']}")
        parts.append(f"{r['name']} {r['verdict']} (e-value {r['e_value']:.3g} vs {r['threshold']:.3g}): {counts}")
    return "; ".join(parts)
