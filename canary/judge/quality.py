"""Model-quality tests: accuracy from ground-truth feedback, and the predicted-class mix, canary against stable.

Accuracy: feedback arrives late and at its own rate per version, so the canary's
share of it is not its traffic weight; the test uses none. Its e-value is the
product of the two versions' Beta-binomial mixture ratios (each a martingale under
its own incorrect-rate), at the least favourable pair of rates allowed by the
null "canary's incorrect rate <= stable's + tolerance": the infimum over a
composite null of e-values valid for each member is itself an e-process.

Class mix: per class, the same construction on "this prediction is of class k",
two-sided, with the null "the canary's share of class k is within a factor
1 + tolerance of stable's". Neither test uses the traffic weight: the runtimes are
scraped at different moments, so their counts at one instant are not split by it.
"""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import xlog1py, xlogy

from canary.judge import stats
from canary.judge.stats import Floats, Values
from canary.judge.twosample import beta_log_marginal, log_e_worse, loglik

FAIL, PASS, INCONCLUSIVE = "fail", "pass", "inconclusive"


def accuracy(windows: list[tuple[int, int, int, int]], tolerance: float, alpha: float,
             stable_prior: tuple[float, float] = stats.JEFFREYS) -> dict[str, Any]:
    """The accuracy test from (incorrect, feedback) counts of canary and stable per window: fail when the
    canary is worse beyond the tolerance. Each window is its own two-sample test and their e-values
    multiply, so a workload whose label mix shifts between steps never reads as a worse canary."""
    log_e = float(sum(log_e_worse(xc, nc, xs, ns, tolerance, stable_prior=stable_prior)
                      for xc, nc, xs, ns in windows))
    xc, nc, xs, ns = (int(sum(w[i] for w in windows)) for i in range(4))
    lc, uc = stats.rate_sequence(xc, nc, alpha / 2)
    ls, us = stats.rate_sequence(xs, ns, alpha / 2)
    if log_e >= math.log(1 / alpha):
        verdict = FAIL
        reason = (f"canary's accuracy is worse than stable's by more than {tolerance:g} "
                  f"(e-value {stats.e_value(log_e):.3g})")
    elif nc and ns and uc - ls <= tolerance:
        verdict, reason = PASS, "an accuracy drop beyond the tolerance is ruled out"
    else:
        verdict, reason = INCONCLUSIVE, ("no feedback yet" if not nc or not ns
                                         else f"e-value {stats.e_value(log_e):.3g} < {1 / alpha:.3g}: "
                                              "not enough feedback either way")
    side: Callable[[int, int, float, float], dict[str, Any]] = lambda x, n, lo, hi: {  # noqa: E731
        "events": x, "requests": n, "rate": x / n if n else None,
        "accuracy": 1 - x / n if n else None, "lower": 1 - hi, "upper": 1 - lo}
    return {"name": "accuracy", "verdict": verdict, "reason": reason, "alpha": alpha, "e_value": stats.e_value(log_e),
            "log_e_value": log_e, "threshold": 1 / alpha, "tolerance": {"absolute": tolerance},
            "ratio": {"estimate": None, "lower": None, "upper": None},
            "difference": {"lower": (ls - uc), "upper": (us - lc)},  # canary's accuracy minus stable's
            "canary": side(xc, nc, lc, uc), "stable": side(xs, ns, ls, us), "windows": len(windows)}


def log_e_ratio(xc: Values, nc: Values, xs: Values, ns: Values, tolerance: float,
                prior: tuple[float, float] = stats.JEFFREYS) -> Floats:
    """log e-value against "the canary's rate is within a factor 1 + tolerance of stable's, either way".

    At tolerance 0 the null's best fit is the pooled rate, in closed form and over arrays
    (the simulation's need); otherwise a one-dimensional search on the boundary nearer the data.
    """
    log_marginal = beta_log_marginal(xc, nc, prior) + beta_log_marginal(xs, ns, prior)
    if tolerance == 0:
        pooled = np.divide(np.add(xc, xs), np.add(nc, ns), out=np.zeros(np.broadcast(xc, xs).shape),
                           where=np.add(nc, ns) > 0)
        log_e: Floats = log_marginal - (xlogy(np.add(xc, xs), pooled)
                                        + xlog1py(np.add(nc, ns) - np.add(xc, xs), -pooled))
        return log_e
    pc, ps = (xc / nc if nc else None), (xs / ns if ns else None)
    hi = 1 + tolerance
    if pc is None or ps is None or ps * (1 / hi) <= pc <= ps * hi:  # the most likely rates fit the null
        return float(log_marginal - loglik(xc, nc, pc or 0.0) - loglik(xs, ns, ps or 0.0))
    r = hi if pc > ps * hi else 1 / hi
    f = lambda p: -(loglik(xc, nc, r * p) + loglik(xs, ns, p))  # noqa: E731
    best = -minimize_scalar(f, bounds=(0.0, min(1.0, 1 / r)), method="bounded", options={"xatol": 1e-12}).fun
    return float(log_marginal - best)


def class_mix(windows: list[tuple[dict[str, float], dict[str, float]]], tolerance: float,
              alpha: float) -> dict[str, Any]:
    """The class-mix test from each version's predictions by class, per window: fail when a class's share
    differs beyond the factor.

    Each class is its own two-sample test of "prediction is of this class" (rho-free like
    the accuracy test, so runtimes scraped at different moments do not bias it), each
    window's e-values multiplied (a workload shift between steps is never compared across
    them), at alpha / K: a union bound over the K classes, whose indicators are not independent.
    """
    canary, stable = ({c: sum(w[i].get(c, 0) for w in windows) for c in {c for w in windows for c in w[i]}}
                      for i in (0, 1))
    classes = sorted({*canary, *stable})
    nc, ns = sum(canary.values()), sum(stable.values())
    level = alpha / max(len(classes), 1)
    per_class = {c: float(sum(log_e_ratio(wc.get(c, 0), sum(wc.values()), ws.get(c, 0), sum(ws.values()), tolerance)
                              for wc, ws in windows)) for c in classes}
    ratios = {c: _share_ratio(canary.get(c, 0), nc, stable.get(c, 0), ns, level) for c in classes}
    worst = max(per_class, key=per_class.__getitem__) if classes else None
    log_e = per_class[worst] if worst else 0.0
    if worst is not None and log_e >= math.log(1 / level):  # (no worst class: log_e is 0, never past the level)
        verdict, reason = FAIL, (f"the canary's share of {worst} differs from stable's beyond a factor "
                                 f"{1 + tolerance:g} (e-value {stats.e_value(log_e):.3g}, "
                                 f"ratio {ratios[worst]['estimate'] or float('nan'):.3g})")
    elif classes and nc and ns and all(r["lower"] is not None and r["upper"] is not None
                                       and r["lower"] >= 1 / (1 + tolerance) and r["upper"] <= 1 + tolerance
                                       for r in ratios.values()):
        verdict, reason = PASS, "a class-mix shift beyond the tolerance is ruled out"
    else:
        verdict, reason = INCONCLUSIVE, (f"e-value {stats.e_value(log_e):.3g} < {1 / level:.3g}: "
                                         "not enough predictions either way")
    return {"name": "class_mix", "verdict": verdict, "reason": reason, "alpha": alpha, "e_value": stats.e_value(log_e),
            "log_e_value": log_e, "threshold": 1 / level, "tolerance": {"relative": tolerance},
            "by_class_log_e": per_class,
            "ratio": ratios[worst] if worst is not None else {"estimate": None, "lower": None, "upper": None},
            "worst_class": worst, "ratio_by_class": ratios, "difference": {"lower": None, "upper": None},
            "canary": _mix(canary), "stable": _mix(stable), "windows": len(windows)}


def _share_ratio(xc: float, nc: float, xs: float, ns: float, level: float) -> dict[str, float | None]:
    """The ratio of one class's shares, canary over stable, with bounds from both shares' sequences."""
    (lc, uc), (ls, us) = stats.rate_sequence(xc, nc, level / 2), stats.rate_sequence(xs, ns, level / 2)
    return {"estimate": (xc / nc) / (xs / ns) if nc and xs else None,
            "lower": lc / us if us else None, "upper": uc / ls if ls else None}


def _mix(counts: dict[str, float]) -> dict[str, Any]:
    n = sum(counts.values())
    return {"events": n, "requests": n, "rate": None, "by_class": counts,
            "shares": {c: v / n for c, v in counts.items()} if n else {}}


def disagreement(disagreements: int, pairs: int, tolerance: float, alpha: float) -> dict[str, Any]:
    """The shadow test: do canary and stable answer the same requests differently more often than the tolerance?

    One-sided, on the pairs the mirror joined: the Beta mixture truncated above the
    tolerance against the rate at it, a supermartingale for any rate at or below it.
    """
    log_e = float(stats.log_truncated_lr(disagreements, pairs - disagreements, *stats.JEFFREYS, tolerance))
    lower, upper = stats.rate_sequence(disagreements, pairs, alpha)
    if log_e >= math.log(1 / alpha):
        verdict = FAIL
        reason = (f"the canary disagrees with stable on more than {tolerance:g} of the requests "
                  f"(e-value {stats.e_value(log_e):.3g})")
    elif pairs and upper <= tolerance:
        verdict, reason = PASS, "disagreement beyond the tolerance is ruled out"
    else:
        verdict, reason = INCONCLUSIVE, ("no joined pairs yet" if not pairs
                                         else f"e-value {stats.e_value(log_e):.3g} < {1 / alpha:.3g}: "
                                              "not enough pairs either way")
    side = {"events": disagreements, "requests": pairs, "rate": disagreements / pairs if pairs else None,
            "lower": lower, "upper": upper}
    return {"name": "disagreement", "verdict": verdict, "reason": reason, "alpha": alpha,
            "e_value": stats.e_value(log_e),
            "log_e_value": log_e, "threshold": 1 / alpha, "tolerance": {"absolute": tolerance},
            "ratio": {"estimate": None, "lower": None, "upper": None},
            "difference": {"lower": lower, "upper": upper}, "canary": side,
            "stable": {"events": pairs, "requests": pairs, "rate": None, "lower": None, "upper": None}}
