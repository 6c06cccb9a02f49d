"""Two-sample e-values on rates: "the canary's rate is at most stable's plus a tolerance".

Each version's events are a Bernoulli sequence; the e-value is the product of both
versions' mixture likelihoods divided by the likelihood of the best pair of rates the
null allows. The infimum over a composite null of e-values valid for each member is
itself an e-process, and any prior fixed before the data keeps each mixture valid.
"""

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy.special import xlog1py, xlogy

from canary.judge import stats
from canary.judge.stats import Floats, Values, logsumexp


def beta_log_marginal(x: Values, n: Values, prior: tuple[float, float]) -> Floats:
    """log of the Beta ``prior`` mixture's probability of x events in n trials (in one order)."""
    return stats.log_marginal(x, np.subtract(n, x), *prior)


def loglik(x: Values, n: Values, p: Values) -> Floats:
    """log of the probability of x events in n trials at the rate p (in one order)."""
    log_p: Floats = xlogy(x, p) + xlog1py(np.subtract(n, x), -p)
    return log_p


def informed_prior(history: tuple[int, int], most: int) -> tuple[float, float]:
    """Stable's Beta prior from feedback before the analysis: (incorrect, feedback), at most ``most`` answers' worth.

    Any prior fixed before the analysis's data keeps the mixture a martingale under every
    null member, so the e-value stays valid; one centred where stable has been saves most
    of the ~0.5 ln(n) a flat prior costs on stable's side, the larger one, and a cap keeps a
    stable whose rate has drifted since from pulling too hard.
    """
    x0, n0 = history
    weight = min(1.0, most / n0) if n0 else 0.0
    return stats.JEFFREYS[0] + weight * x0, stats.JEFFREYS[1] + weight * (n0 - x0)


def harm_grid(floor: float, points: int = 48) -> NDArray[np.float64]:
    """Rates from ``floor`` to nearly 1, log-spaced: a log-uniform prior on a harmful rate.

    Where harm starts is known before the data (stable's prior rate plus the tolerance), so
    the canary's mixture needs no mass below it, and a log-uniform one weighs a 3% and a
    30% rate alike; against Jeffreys' prior it reaches a 3% canary in about 0.6 of the time.
    """
    return np.geomspace(min(max(floor, 1e-6), 0.3), 0.95, points)


def _grid_log_marginal(x: Values, n: Values, grid: NDArray[np.float64]) -> Floats:
    x, n = np.asarray(x, float)[..., None], np.asarray(n, float)[..., None]
    return logsumexp(loglik(x, n, grid), axis=-1) - math.log(len(grid))


def log_e_worse(xc: Values, nc: Values, xs: Values, ns: Values, tolerance: float,
                prior: tuple[float, float] | NDArray[np.float64] = stats.JEFFREYS,
                stable_prior: tuple[float, float] | None = None) -> Floats:
    """log e-value against "canary's rate <= stable's + tolerance", from xc of nc and xs of ns events; over arrays.

    ``prior`` mixes the canary's rate (a Beta's (a, b), or an array of rates weighed alike,
    ``harm_grid``), ``stable_prior`` (default: Jeffreys') stable's.

    Where the most likely rates break the null, its best fit lies on the boundary
    pc = ps + tolerance, where the log-likelihood is concave in ps: bisection on its
    derivative, vectorised by hand because the benchmark solves millions at once.
    """
    xc, nc, xs, ns = (np.asarray(v, float) for v in (xc, nc, xs, ns))
    canary = (_grid_log_marginal(xc, nc, prior) if isinstance(prior, np.ndarray)
              else beta_log_marginal(xc, nc, prior))
    log_marginal = canary + beta_log_marginal(xs, ns, stable_prior or stats.JEFFREYS)
    pc = np.divide(xc, nc, out=np.zeros_like(xc), where=nc > 0)
    ps = np.divide(xs, ns, out=np.ones_like(xs), where=ns > 0)
    inside = pc - ps <= tolerance
    edge = _edge(xc, nc, xs, ns, tolerance)
    best = np.where(inside, loglik(xc, nc, pc) + loglik(xs, ns, np.minimum(ps, 1.0)),
                    loglik(xc, nc, np.minimum(edge + tolerance, 1.0)) + loglik(xs, ns, edge))
    out = log_marginal - best
    return float(out) if out.ndim == 0 else out


def _edge(xc: NDArray[np.float64], nc: NDArray[np.float64], xs: NDArray[np.float64], ns: NDArray[np.float64],
          tolerance: float) -> Floats:
    """Stable's rate where the log-likelihood on the boundary pc = ps + tolerance peaks: bisection on its
    derivative, in floats for one pair (the judge) and over arrays at once (the benchmark)."""
    slope: Callable[[NDArray[np.float64]], NDArray[np.float64]] = lambda p: (  # noqa: E731
        np.divide(xc, p + tolerance) - np.divide(nc - xc, 1 - p - tolerance)
        + np.divide(xs, p) - np.divide(ns - xs, 1 - p))
    if xc.ndim == 0:
        return _edge_one(float(xc), float(nc), float(xs), float(ns), tolerance)
    low, high = np.zeros_like(xc), np.full_like(xc, 1.0 - tolerance)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(60):
            mid = (low + high) / 2
            up = slope(mid) > 0
            low, high = np.where(up, mid, low), np.where(up, high, mid)
    return (low + high) / 2


def _edge_one(xc: float, nc: float, xs: float, ns: float, tolerance: float) -> float:
    """``_edge`` for one pair, in plain floats: a fiftieth of the time of numpy on scalars."""
    def slope(p: float) -> float:
        """The boundary log-likelihood's derivative at stable's rate ``p``."""
        return (xc / (p + tolerance) - ((nc - xc) / (1 - p - tolerance) if nc > xc else 0.0)
                + (xs / p if xs else 0.0) - ((ns - xs) / (1 - p) if ns > xs else 0.0))
    low, high = 0.0, 1.0 - tolerance
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if slope(mid) > 0 else (low, mid)
    return (low + high) / 2
