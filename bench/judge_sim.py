"""The judge's errors test over simulated rollouts, vectorised over runs, and the oracle beside it.

A rollout is a list of phases; each second every run draws Poisson(rps) requests, a share
to the canary (its real share, which need not be the weight), each failing with its
version's rate in that phase. Under a mirror both versions see every request. The judge
sees one cell a second (``canary.judge.shares``, the count test with the measured share)
and windows that open when it is first asked at a new weight, ``lag`` seconds after the
weight really changed (its reads are a scrape behind); a restart merges the windows before
it into one, as a restarted judge rebuilds them from ``since``.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from canary.judge import shares, twosample, verdict
from canary.judge.settings import JudgeSettings


@dataclass(frozen=True)
class Phase:
    """``seconds`` at one weight: the canary's real share of requests (1: a mirror) and both error rates."""

    seconds: int
    share: float
    canary_rate: float
    stable_rate: float
    mirror: bool = False


def draw(rng, runs: int, phases: list[Phase], rps: float) -> tuple[np.ndarray, ...]:
    """Per-second counts, shape (runs, seconds): canary errors and requests, stable errors and requests."""
    out = [[], [], [], []]
    for p in phases:
        n = rng.poisson(rps, (runs, p.seconds))
        nc = n if p.mirror else rng.binomial(n, p.share)
        ns = n if p.mirror else n - nc
        for i, v in enumerate((rng.binomial(nc, p.canary_rate), nc, rng.binomial(ns, p.stable_rate), ns)):
            out[i].append(v)
    return tuple(np.concatenate(v, axis=1).astype(float) for v in out)


def windows(phases: list[Phase], lag: int, restart_at: int | None) -> np.ndarray:
    """The window of each second as the judge sees it: a phase's window opens ``lag`` s into it."""
    starts, at = [], 0
    for p in phases:
        starts.append(at + (lag if at else 0))
        at += p.seconds
    index = np.searchsorted(np.array(starts), np.arange(at), side="right") - 1
    if restart_at is not None:  # the rebuilt judge knows one window up to the restart
        index = np.where(np.arange(at) < restart_at, index[min(restart_at, at - 1)], index)
    return index


def judge_log_e(counts, window: np.ndarray, settings: JudgeSettings, prior=(0.5, 0.5)) -> np.ndarray:
    """The errors test's log e-value (the smaller of its two parts) at every second, shape (runs, seconds)."""
    xc, nc, xs, ns = counts
    runs, seconds = xc.shape
    d = shares.grid(settings.errors_relative)
    ll, relative = np.zeros((runs, len(d))), np.empty((runs, seconds))
    absolute, closed = np.empty((runs, seconds)), np.zeros(runs)
    for t in range(seconds):
        ll += shares.cell_log_likelihood(xc[:, t], nc[:, t], xs[:, t], ns[:, t], d)
        relative[:, t] = shares.log_e_from_likelihood(ll)
    tolerance = verdict.Tolerance(settings.errors_relative, settings.errors_absolute)
    grid = twosample.harm_grid(verdict.harm_floor(prior, tolerance))
    for w in np.unique(window):
        cols = np.nonzero(window == w)[0]
        cum = [np.cumsum(v[:, cols], axis=1) for v in counts]
        part = twosample.log_e_worse(*cum, settings.errors_absolute, grid, prior)
        absolute[:, cols] = closed[:, None] + part
        closed = absolute[:, cols[-1]]
    return np.minimum(relative, absolute)


def oracle_log_e(counts, phases: list[Phase], settings: JudgeSettings) -> np.ndarray:
    """The SPRT that knows both true rates: their likelihood against the nearest pair of rates in the null."""
    xc, nc, xs, ns = counts
    out, at = np.zeros_like(xc), 0
    for p in phases:
        qc, qs = nearest_null(p, settings)
        step = slice(at, at + p.seconds)
        out[:, step] = (_llr(xc[:, step], nc[:, step], p.canary_rate, qc)
                        + _llr(xs[:, step], ns[:, step], p.stable_rate, qs))
        at += p.seconds
    return np.cumsum(out, axis=1)


def _llr(x, n, p: float, q: float) -> np.ndarray:
    clip = lambda v: min(max(v, 1e-12), 1 - 1e-12)  # noqa: E731
    p, q = clip(p), clip(q)
    return x * math.log(p / q) + (n - x) * math.log((1 - p) / (1 - q))


def nearest_null(p: Phase, settings: JudgeSettings) -> tuple[float, float]:
    """The pair of rates in "no harm" closest (in expected evidence per second) to the true pair."""
    share = 0.5 if p.mirror else p.share
    edge = lambda qs: min(max(qs * (1 + settings.errors_relative), qs + settings.errors_absolute), 1 - 1e-9)  # noqa: E731
    if p.canary_rate <= edge(p.stable_rate):
        return p.canary_rate, p.stable_rate
    kl = lambda a, b: _llr(a, 1.0, a, b)  # noqa: E731
    cost = lambda qs: share * kl(p.canary_rate, edge(qs)) + (1 - share) * kl(p.stable_rate, qs)  # noqa: E731
    qs = minimize_scalar(cost, bounds=(1e-9, 1 - 1e-9), method="bounded", options={"xatol": 1e-12}).x
    return edge(qs), qs


def fail_times(log_e: np.ndarray, alpha: float) -> np.ndarray:
    """The first second each run's log e-value reaches log(1/alpha) (inf: never)."""
    hit = log_e >= math.log(1 / alpha)
    return np.where(hit.any(axis=1), hit.argmax(axis=1) + 1.0, np.inf)
