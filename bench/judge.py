"""The judge against fixed thresholds, in simulation: false fails with canary = stable, and time to fail.

``python -m bench.judge``. Each run draws a second at a time: Poisson(rps) requests,
each to the canary with the weight's probability, each failing with its version's
error rate. The judge's errors test (its default tolerances, alpha 0.01 over its two
tests) looks at the cumulative counts every second. Beside it, the thresholds the
templates used before: the success-rate gate (30 s initial delay, every 30 s, 1 m
window, fail below 0.95 twice) and the fast fail (every 5 s, 30 s window, fail below
0.8), both on exact window counts and both needing 0.5 rps in the window.
"""

import argparse
import math
import sys
import time

import numpy as np

from canary.judge import stats
from canary.judge.settings import JudgeSettings

RATES = (0.005, 0.01, 0.02, 0.05, 0.10, 0.30, 1.0)
BASES = (0.001, 0.01, 0.05)


def draw(rng, runs: int, seconds: int, rps: float, weight: float, canary_rate: float, stable_rate: float):
    """Per-second counts, shape (runs, seconds): canary requests and errors, stable requests and errors."""
    requests = rng.poisson(rps, (runs, seconds))
    canary = rng.binomial(requests, weight)
    return canary, rng.binomial(canary, canary_rate), requests - canary, rng.binomial(requests - canary, stable_rate)


def judge_fail_times(counts, weight: float, settings: JudgeSettings, tests: int = 2) -> np.ndarray:
    """The first second the judge's errors test fails, per run (inf: never)."""
    cn, ce, sn, se = (np.cumsum(c, axis=1).astype(float) for c in counts)
    alpha = settings.alpha / tests
    k, eps = settings.concentration, settings.errors_relative
    log_e = stats.log_truncated_lr(ce, se, k * weight, k * (1 - weight), float(stats.theta(weight, math.log1p(eps))))
    failed = log_e >= math.log(1 / alpha)
    at = np.nonzero(failed)  # the bounds only where the count test already rejects: most cells never do
    lower_c, _ = stats.rate_bounds(ce[at], cn[at], alpha / 3)
    _, upper_s = stats.rate_bounds(se[at], sn[at], alpha / 3)
    ratio = stats.ratio_lower_bounds(ce[at], se[at], weight, alpha / 3, k)
    failed[at] = stats.gap_lower_bounds(lower_c, upper_s, ratio) > settings.errors_absolute
    return _first(failed)


def threshold_fail_times(counts) -> np.ndarray:
    """The first second the gate or the fast fail fails, per run (inf: never)."""
    cn, ce = counts[0], counts[1]
    seconds = cn.shape[1]
    gate, burst = np.zeros(cn.shape, bool), np.zeros(cn.shape, bool)
    strikes = np.zeros(cn.shape[0], int)
    for t in range(seconds):
        if t % 5 == 0:  # fast fail: every 5 s from the start, over the last 30 s
            burst[:, t] = _below(cn, ce, t, 30, 0.8)
        if t >= 30 and (t - 30) % 30 == 0 and t <= 180:  # the gate's 6 measurements
            strikes += _below(cn, ce, t, 60, 0.95)
            gate[:, t] = strikes > 1
    return np.minimum(_first(gate), _first(burst))


def _below(cn, ce, t: int, window: int, threshold: float) -> np.ndarray:
    lo = max(0, t - window + 1)
    n, e = cn[:, lo:t + 1].sum(axis=1), ce[:, lo:t + 1].sum(axis=1)
    enough = n >= 0.5 * min(window, t + 1)
    return enough & (1 - e / np.maximum(n, 1) < threshold)


def _first(flags: np.ndarray) -> np.ndarray:
    hit = flags.any(axis=1)
    return np.where(hit, flags.argmax(axis=1) + 1.0, np.inf)


def describe(times: np.ndarray, horizon: int) -> str:
    """'median / p90 s (share failed within the horizon)'."""
    done = times[np.isfinite(times)]
    if not len(done):
        return f"never in {horizon} s"
    share, ordered = len(done) / len(times), np.sort(times)
    median, p90 = ordered[len(ordered) // 2], ordered[int(0.9 * (len(ordered) - 1))]
    show = lambda v: f"{v:.0f}" if np.isfinite(v) else f">{horizon}"  # noqa: E731
    return f"{show(median)} / {show(p90)} s ({share:.1%} failed)"


def main(argv: list[str] | None = None) -> int:
    """Both tables, as Markdown."""
    p = argparse.ArgumentParser(prog="python -m bench.judge", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10000, help="simulated rollouts per row (default %(default)s)")
    p.add_argument("--rps", type=float, default=50.0)
    p.add_argument("--weight", type=float, default=0.1, help="the canary's share of traffic (default %(default)s)")
    p.add_argument("--horizon", type=int, default=600, help="seconds each run is watched, a look per second (A/A)")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    settings, rng, started = JudgeSettings(), np.random.default_rng(args.seed), time.monotonic()
    print(f"{args.runs} runs a row, {args.rps:g} rps, canary weight {args.weight:g}, a look every second; "
          f"judge: alpha {settings.alpha:g} over 2 tests, k {settings.concentration:g}, tolerance "
          f"x{1 + settings.errors_relative:g} and +{settings.errors_absolute:g}\n")
    print(f"| stable | canary | judge false fails in {args.horizon} s (bound {settings.alpha / 2:g}) | thresholds false fails |")
    print("|---|---|---|---|")
    for base in BASES:  # A/A, then a canary exactly at the edge of the tolerance: the hardest harmless case
        edge = max(base * (1 + settings.errors_relative), base + settings.errors_absolute)
        for canary in (base, edge):
            counts = draw(rng, args.runs, args.horizon, args.rps, args.weight, canary, base)
            judge, fixed = judge_fail_times(counts, args.weight, settings), threshold_fail_times(counts)
            print(f"| {base:.1%} | {canary:.2%}{' (A/A)' if canary == base else ' (edge)'} | "
                  f"{np.isfinite(judge).mean():.4f} | {np.isfinite(fixed).mean():.4f} |", flush=True)
    print("\n| canary errors (stable 0.1%) | judge: median / p90 time to fail | thresholds: median / p90 time to fail |")
    print("|---|---|---|")
    for rate in RATES:
        counts = draw(rng, args.runs, 180, args.rps, args.weight, rate, 0.001)
        print(f"| {rate:.1%} | {describe(judge_fail_times(counts, args.weight, settings), 180)} | "
              f"{describe(threshold_fail_times(counts), 180)} |", flush=True)
    print(f"\n({time.monotonic() - started:.0f} s; seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
