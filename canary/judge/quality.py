"""Model-quality tests: accuracy from ground-truth feedback, and the predicted-class mix, canary against stable.

Accuracy: feedback arrives late and at its own rate per version, so the canary's
share of it is not its traffic weight; the test uses none. Its e-value is the
product of the two versions' Beta-binomial mixture ratios (each a martingale under
its own incorrect-rate), at the least favourable pair of rates allowed by the
null "canary's incorrect rate <= stable's + tolerance": the infimum over a
composite null of e-values valid for each member is itself an e-process.

Class mix: given a class-k prediction, it came from the canary with probability
theta_k = rho r_k / (rho r_k + 1 - rho), r_k the ratio of the versions' shares of
class k. The null "every r_k within [1/(1 + tolerance), 1 + tolerance]" bounds each
theta_k to an interval; per window and class the e-value is the mixture's ratio at
the interval's most likely point, and their product over windows and classes is
an e-value (each factor is at most the ratio at the true theta_k).
"""

import math

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import betaln, xlog1py, xlogy

from canary.judge import stats

FAIL, PASS, INCONCLUSIVE = "fail", "pass", "inconclusive"


def _loglik(x, n, p) -> float:
    return float(xlogy(x, p) + xlog1py(n - x, -p)) if n else 0.0


def log_e_worse(xc: int, nc: int, xs: int, ns: int, tolerance: float, prior=stats.JEFFREYS) -> float:
    """log e-value against "canary's rate <= stable's + tolerance", from xc of nc and xs of ns events."""
    a, b = prior
    log_marginal = (betaln(a + xc, b + nc - xc) - betaln(a, b)) + (betaln(a + xs, b + ns - xs) - betaln(a, b))
    pc, ps = (xc / nc if nc else 0.0), (xs / ns if ns else 1.0)
    if pc - ps <= tolerance:  # the most likely rates are in the null already
        best = _loglik(xc, nc, pc) + _loglik(xs, ns, ps)
    else:  # on the boundary pc = ps + tolerance, concave in ps
        f = lambda p: -(_loglik(xc, nc, p + tolerance) + _loglik(xs, ns, p))  # noqa: E731
        best = -minimize_scalar(f, bounds=(0.0, 1.0 - tolerance), method="bounded", options={"xatol": 1e-10}).fun
    return float(log_marginal - best)


def accuracy(canary: tuple[int, int], stable: tuple[int, int], tolerance: float, alpha: float) -> dict:
    """The accuracy test from (incorrect, feedback) counts: fail when the canary is worse beyond the tolerance."""
    (xc, nc), (xs, ns) = canary, stable
    log_e = log_e_worse(xc, nc, xs, ns, tolerance)
    lc, uc = stats.rate_sequence(xc, nc, alpha / 2)
    ls, us = stats.rate_sequence(xs, ns, alpha / 2)
    if log_e >= math.log(1 / alpha):
        verdict = FAIL
        reason = f"canary's accuracy is worse than stable's by more than {tolerance:g} (e-value {_e(log_e):.3g})"
    elif nc and ns and uc - ls <= tolerance:
        verdict, reason = PASS, "an accuracy drop beyond the tolerance is ruled out"
    else:
        verdict, reason = INCONCLUSIVE, ("no feedback yet" if not nc or not ns
                                         else f"e-value {_e(log_e):.3g} < {1 / alpha:.3g}: not enough feedback either way")
    side = lambda x, n, lo, hi: {"events": x, "requests": n, "accuracy": 1 - x / n if n else None,  # noqa: E731
                                 "lower": 1 - hi, "upper": 1 - lo}
    return {"name": "accuracy", "verdict": verdict, "reason": reason, "alpha": alpha, "e_value": _e(log_e),
            "log_e_value": log_e, "threshold": 1 / alpha, "tolerance": {"absolute": tolerance},
            "difference": {"lower": (ls - uc), "upper": (us - lc)},  # canary's accuracy minus stable's
            "canary": side(xc, nc, lc, uc), "stable": side(xs, ns, ls, us)}


def log_e_mix(canary, stable, rho: float, tolerance: float, k: float):
    """log e-value of one window's class counts (arrays, classes on the last axis) against "every class's
    ratio within the tolerance": per class, the mixture's ratio at the null interval's most likely theta."""
    canary, stable = np.asarray(canary, float), np.asarray(stable, float)
    d0 = math.log1p(tolerance)
    lo, hi = float(stats.theta(rho, -d0)), float(stats.theta(rho, d0))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.clip(np.where(canary + stable > 0, canary / (canary + stable), rho), lo, hi)
    per_class = stats.log_mixture_lr(canary, stable, k * rho, k * (1 - rho), p)
    return np.where(canary + stable > 0, per_class, 0.0).sum(axis=-1)


def class_mix(windows: list[tuple[float, dict, dict]], tolerance: float, alpha: float, k: float) -> dict:
    """The class-mix test over windows of (rho, canary counts by class, stable counts by class)."""
    classes = sorted({c for _, can, st in windows for c in (*can, *st)})
    log_e = float(sum(log_e_mix([can.get(c, 0) for c in classes], [st.get(c, 0) for c in classes], rho, tolerance, k)
                      for rho, can, st in windows if 0 < rho < 1 and classes))
    ratios = {c: stats.ratio_sequence([stats.Segment(rho, can.get(c, 0), st.get(c, 0)) for rho, can, st in windows],
                                      alpha / max(len(classes), 1), k) for c in classes}
    inside = bool(classes) and all(lo is not None and up is not None and lo >= 1 / (1 + tolerance)
                                   and up <= 1 + tolerance for _, lo, up in ratios.values())
    if log_e >= math.log(1 / alpha):
        worst = max(ratios, key=lambda c: abs(math.log(ratios[c][0] or 1.0)))
        verdict, reason = FAIL, (f"the canary's class mix differs from stable's beyond {tolerance:g} "
                                 f"(e-value {_e(log_e):.3g}; {worst} ratio {ratios[worst][0] or float('nan'):.3g})")
    elif inside:
        verdict, reason = PASS, "a class-mix shift beyond the tolerance is ruled out"
    else:
        verdict, reason = INCONCLUSIVE, f"e-value {_e(log_e):.3g} < {1 / alpha:.3g}: not enough predictions either way"
    totals = [{c: sum(w[i].get(c, 0) for w in windows) for c in classes} for i in (1, 2)]
    return {"name": "class_mix", "verdict": verdict, "reason": reason, "alpha": alpha, "e_value": _e(log_e),
            "log_e_value": log_e, "threshold": 1 / alpha, "tolerance": {"relative": tolerance},
            "ratio": {c: dict(zip(("estimate", "lower", "upper"), r, strict=True)) for c, r in ratios.items()},
            "canary": _mix(totals[0]), "stable": _mix(totals[1])}


def _mix(counts: dict) -> dict:
    n = sum(counts.values())
    return {"events": n, "requests": n, "by_class": counts,
            "shares": {c: v / n for c, v in counts.items()} if n else {}}


def _e(log_e: float) -> float:
    return float(np.exp(min(log_e, 700)))
