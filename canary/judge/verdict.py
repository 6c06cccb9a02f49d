"""One judged test: canary against stable on one kind of event, with a relative and an absolute tolerance.

Harm is "the canary's rate is above stable's times (1 + relative) AND above stable's plus
absolute". Its null is the union of two nulls, so `fail` needs both rejected, each at
the test's level (an intersection-union test keeps that level): the count e-value
crosses 1/level, and the canary's rate sequence lies above stable's by more than the
absolute tolerance, a gap bounded from below by ``stats.gap_lower_bounds`` from three
confidence sequences at level/3 each (the canary's rate, stable's rate, their ratio),
which all hold together with probability 1 - level. The bound through the ratio needs
no bound on stable's rate, slow to tighten when stable's errors are rare, so a canary
far worse than stable fails on a handful of requests. `pass` is the mirror image: the
sequences rule out harm on either side. Both are anytime-valid.
"""

import math
from dataclasses import dataclass

from canary.judge import stats

FAIL, PASS, INCONCLUSIVE = "fail", "pass", "inconclusive"


@dataclass(frozen=True)
class Tolerance:
    """How much worse than stable the canary may be: a factor and a difference of rates."""

    relative: float
    absolute: float


@dataclass(frozen=True)
class Window:
    """Counts of one test while the canary's share of traffic was ``rho``."""

    rho: float
    canary_events: int
    canary_trials: int
    stable_events: int
    stable_trials: int


def _side(events: int, trials: int, alpha: float) -> dict:
    lower, upper = stats.rate_sequence(events, trials, alpha)
    return {"events": events, "requests": trials, "rate": events / trials if trials else None,
            "lower": lower, "upper": upper}


def evaluate(name: str, windows: list[Window], tolerance: Tolerance, alpha: float, k: float) -> dict:
    """The test's e-value, estimates, confidence sequences, counts and verdict at level ``alpha``."""
    segments = [stats.Segment(w.rho, w.canary_events, w.stable_events) for w in windows]
    log_e = stats.log_e_harm(segments, tolerance.relative, k)
    estimate, lower, upper = stats.ratio_sequence(segments, alpha / 3, k)
    canary = _side(sum(w.canary_events for w in windows), sum(w.canary_trials for w in windows), alpha / 3)
    stable = _side(sum(w.stable_events for w in windows), sum(w.stable_trials for w in windows), alpha / 3)
    gap_lower = float(stats.gap_lower_bounds(canary["lower"], stable["upper"], lower or 0.0))
    gap_upper = canary["upper"] - stable["lower"]
    relative_harm = log_e >= math.log(1 / alpha)
    absolute_harm = gap_lower > tolerance.absolute
    if relative_harm and absolute_harm:
        verdict, reason = FAIL, (f"e-value {stats.e_value(log_e):.3g} >= {1 / alpha:.3g} and the canary's rate is "
                                 f"at least {gap_lower:.4f} above stable's (> {tolerance.absolute:g})")
    elif (upper is not None and upper <= 1 + tolerance.relative) or gap_upper <= tolerance.absolute:
        verdict, reason = PASS, "harm beyond the tolerance is ruled out"
    else:
        verdict, reason = INCONCLUSIVE, _why_not(relative_harm, absolute_harm, log_e, alpha)
    return {"name": name, "verdict": verdict, "reason": reason, "alpha": alpha,
            "e_value": stats.e_value(log_e), "log_e_value": log_e, "threshold": 1 / alpha,
            "ratio": {"estimate": estimate, "lower": lower, "upper": upper},
            "difference": {"lower": gap_lower, "upper": gap_upper},
            "tolerance": {"relative": tolerance.relative, "absolute": tolerance.absolute},
            "canary": canary, "stable": stable, "windows": len(windows)}


def _why_not(relative_harm: bool, absolute_harm: bool, log_e: float, alpha: float) -> str:
    if relative_harm:
        return "worse by the factor, not yet by the absolute tolerance"
    if absolute_harm:
        return "worse by the absolute tolerance, not yet by the factor"
    return f"e-value {stats.e_value(log_e):.3g} < {1 / alpha:.3g}: not enough evidence either way"
