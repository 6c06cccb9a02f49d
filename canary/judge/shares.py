"""The count test with the measured share: which version an event came from, cell by cell.

Within one cell (a second or so of scrapes), given that the canary served n_c requests
and stable n_s, an event (a 5xx, a slow answer) came from the canary with probability
theta = n_c e^D / (n_c e^D + n_s), D the log ratio of the per-request rates (Lindon &
Malek, NeurIPS 2022, section 4, with the traffic share measured per cell instead of
taken from the weight). Any time trend shared by both versions cancels within a cell;
header-routed testers, retries and uneven connections move n_c and n_s, not the test.

The alternative mixes D over a fixed grid above the null's edge D0 = log(1 + relative);
a discrete mixture of likelihood ratios needs no integral, and each ratio against D0 is
a supermartingale for every D <= D0 (theta is monotone in D), so the mixture's first
crossing of 1/alpha has probability at most alpha, however often it is looked at.

Written here rather than taken from a library: savvi's and confseq's tests take one share
for all events; none takes a share per event (docs/judge.md).
"""

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import log_expit

from canary.judge.stats import Floats, logsumexp

# Effects above the null's edge the mixture weighs: 1.1x to 3000x beyond it, log-spaced, so a
# small effect costs about as much of the mixture as a large one.
_STEPS = np.log1p(0.1 * 1.35 ** np.arange(24))
_LOG_WEIGHTS = np.full(len(_STEPS), -math.log(len(_STEPS)))
SPAN = np.linspace(-12.0, 12.0, 481)  # where the confidence sequence for D is looked for (e^12: unbounded)


def _cells(xc: ArrayLike, nc: ArrayLike, xs: ArrayLike,
           ns: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Only cells with an event and trials on both sides carry evidence about D."""
    xc, nc, xs, ns = (np.asarray(v, float) for v in (xc, nc, xs, ns))
    keep = (xc + xs > 0) & (nc > 0) & (ns > 0)
    return xc[keep], xs[keep], np.log(nc[keep] / ns[keep])


def log_likelihood(xc: ArrayLike, nc: ArrayLike, xs: ArrayLike, ns: ArrayLike,
                   d: NDArray[np.float64]) -> NDArray[np.float64]:
    """log P(the events' origins | D) for each D in ``d``, summed over the cells."""
    c, s, log_odds = _cells(xc, nc, xs, ns)
    z = log_odds[None, :] + np.asarray(d, float)[:, None]  # the log odds of "canary" per (D, cell)
    ll: NDArray[np.float64] = (c * log_expit(z) + s * log_expit(-z)).sum(axis=1)
    return ll


def grid(relative: float) -> NDArray[np.float64]:
    """The null's edge D0, then the alternatives the mixture weighs."""
    d0 = math.log1p(relative)
    return np.concatenate([[d0], d0 + _STEPS])


def cell_log_likelihood(xc: ArrayLike, nc: ArrayLike, xs: ArrayLike, ns: ArrayLike,
                        d: NDArray[np.float64]) -> NDArray[np.float64]:
    """One cell's log-likelihood at each D of ``d``, for many runs at once: shape (runs, len(d))."""
    xc, nc, xs, ns = (np.asarray(v, float)[:, None] for v in (xc, nc, xs, ns))
    with np.errstate(divide="ignore"):
        z = np.log(nc) - np.log(ns) + d[None, :]
    informative = (nc > 0) & (ns > 0)
    return np.where(informative, xc * log_expit(np.where(informative, z, 0))
                    + xs * log_expit(-np.where(informative, z, 0)), 0.0)


def log_e_from_likelihood(ll: NDArray[np.float64]) -> Floats:
    """The mixture's log e-value from log-likelihoods on ``grid`` (last axis)."""
    return logsumexp(_LOG_WEIGHTS + ll[..., 1:], axis=-1) - ll[..., 0]


def ratio_sequence_from(ll: NDArray[np.float64], alpha: float) -> tuple[float | None, float | None, float | None]:
    """(estimate, lower, upper) of the rate ratio from the log-likelihoods on ``SPAN``, summed over the cells:
    the D whose likelihood the two-sided mixture beats by less than 1/alpha; None where unbounded (or unknown)."""
    if not np.any(ll):
        return None, None, None
    mixture = logsumexp(ll) - math.log(len(SPAN))  # a flat prior over the span
    inside = np.nonzero(mixture - ll < math.log(1 / alpha))[0]
    best = int(np.argmax(ll))
    edge: Callable[[int], float | None] = lambda i: None if i in (0, len(SPAN) - 1) else math.exp(SPAN[i])  # noqa: E731
    if not len(inside):
        return edge(best), None, None
    return edge(best), edge(inside[0]), edge(inside[-1])
