"""The judge's errors test in simulation: time to fail against the oracle, and false fails under bad conditions.

``python -m bench.judge`` prints the power table: median and 90th percentile seconds to
fail at 50 rps, 10% weight or a 100% mirror, beside the oracle (the SPRT that knows both
true rates, at the same alpha) and their ratio. ``--aa`` prints the A/A table: canary as
good as stable (or exactly at the tolerance's edge) through a whole rollout (a minute of
mirror, three minutes at 10%, three at 50%), under scrape lag at every weight change, a
real share that is not the weight, a workload shift, a judge restart and a counter reset.
Seeded; a look every second (``bench.judge_sim``).
"""

import argparse
import sys
import time

import numpy as np

from bench.judge_sim import Phase, draw, fail_times, judge_log_e, oracle_log_e, windows
from canary.judge import twosample
from canary.judge.settings import JudgeSettings

RATES = (0.03, 0.05, 0.10, 1.0)
BASES = (0.001, 0.005)


def _seconds(times: np.ndarray) -> tuple[float, float]:
    ordered = np.sort(times)
    return float(ordered[len(ordered) // 2]), float(ordered[int(0.9 * (len(ordered) - 1))])


def prior_of(base: float, settings: JudgeSettings) -> tuple[float, float]:
    """Stable's Beta prior from ten minutes of history at 45 rps, capped as the judge caps it."""
    return twosample.informed_prior((round(base * 27000), 27000), settings.rate_prior_answers)


def power(rng, runs: int, rps: float, horizon: int, settings: JudgeSettings) -> None:
    """The power table, one row per stable rate, canary rate and routing."""
    alpha = settings.alpha * settings.alpha_shares["errors"]
    print("| stable | canary | routing | judge median / p90 s | oracle median / p90 s | median ratio |")
    print("|---|---|---|---|---|---|")
    for base in BASES:
        for mirror in (False, True):
            for rate in RATES:
                phases = [Phase(horizon, 0.1, rate, base, mirror)]
                counts = draw(rng, runs, phases, rps)
                judge = fail_times(judge_log_e(counts, windows(phases, 0, None), settings, prior_of(base, settings)), alpha)
                oracle = fail_times(oracle_log_e(counts, phases, settings), alpha)
                (jm, jp), (om, op) = _seconds(judge), _seconds(oracle)
                print(f"| {base:.1%} | {rate:.0%} | {'mirror 100%' if mirror else 'weight 10%'} | {jm:.0f} / {jp:.0f} | "
                      f"{om:.0f} / {op:.0f} | {jm / om:.2f} |", flush=True)


def rollout(base: float, canary: float, share: float = 0.1, shift: float | None = None) -> list[Phase]:
    """A minute of mirror, three minutes at 10% (real share ``share``), three at 50% (stable at ``shift`` there)."""
    later = base if shift is None else shift
    return [Phase(60, 1.0, canary, base, mirror=True), Phase(180, share, canary, base),
            Phase(180, 0.5, canary * later / base, later)]


def scenarios(settings: JudgeSettings) -> list[tuple[str, list[Phase], int, int | None, bool]]:
    """(name, phases, lag s, restart at s, counter reset) of each A/A row."""
    edge = lambda b: max(b * (1 + settings.errors_relative), b + settings.errors_absolute)  # noqa: E731
    return [("ideal, 2%", rollout(0.02, 0.02), 0, None, False),
            ("scrape lag 15 s at each weight change", rollout(0.02, 0.02), 15, None, False),
            ("scrape lag 30 s at each weight change", rollout(0.02, 0.02), 30, None, False),
            ("real share 0.2 at weight 10%", rollout(0.02, 0.02, 0.2), 0, None, False),
            ("real share 0.25 at weight 10%", rollout(0.02, 0.02, 0.25), 0, None, False),
            ("workload shift: 0.5% at 10%, 2% at 50%", rollout(0.005, 0.005, shift=0.02), 0, None, False),
            ("judge restart at 150 s", rollout(0.02, 0.02), 0, 150, False),
            ("canary counter reset at 150 s", rollout(0.02, 0.02), 0, None, True),
            ("canary at the edge (3% against 2%), lag 30 s", rollout(0.02, edge(0.02)), 30, None, False),
            ("canary at the edge (3% against 2%), share 0.25", rollout(0.02, edge(0.02), 0.25), 0, None, False),
            ("canary at the edge (0.6% against 0.1%), share 0.25", rollout(0.001, edge(0.001), 0.25), 0, None, False)]


def false_fails(rng, runs: int, rps: float, settings: JudgeSettings) -> list[tuple[str, float]]:
    """Each A/A row's share of runs failed by the errors test."""
    alpha, out = settings.alpha * settings.alpha_shares["errors"], []
    for name, phases, lag, restart, reset in scenarios(settings):
        counts = draw(rng, runs, phases, rps)
        if reset:  # the requests since the canary's last scrape are lost with its process: never counted
            for c in counts[:2]:
                c[:, 150] = 0
        log_e = judge_log_e(counts, windows(phases, lag, restart), settings, prior_of(phases[0].stable_rate, settings))
        out.append((name, float(np.isfinite(fail_times(log_e, alpha)).mean())))
    return out


def main(argv: list[str] | None = None) -> int:
    """The power table, or with --aa the A/A table, as Markdown."""
    p = argparse.ArgumentParser(prog="python -m bench.judge", description=__doc__.splitlines()[0])
    p.add_argument("--aa", action="store_true", help="the A/A table instead of the power table")
    p.add_argument("--runs", type=int, default=10000, help="simulated rollouts per row (default %(default)s)")
    p.add_argument("--rps", type=float, default=50.0, help="requests a second (default %(default)s)")
    p.add_argument("--horizon", type=int, default=400, help="seconds each power run is watched (default %(default)s)")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    settings, rng, started = JudgeSettings(), np.random.default_rng(args.seed), time.monotonic()
    alpha = settings.alpha * settings.alpha_shares["errors"]
    print(f"{args.runs} runs a row, {args.rps:g} rps, a look every second; the errors test at alpha {alpha:g} "
          f"({settings.alpha_shares['errors']:g} of the rollout's {settings.alpha:g}), tolerance "
          f"x{1 + settings.errors_relative:g} and +{settings.errors_absolute:g}\n")
    if args.aa:
        print(f"| condition (A/A unless named) | false fails (bound {alpha:g}; rollout {settings.alpha:g}) |\n|---|---|")
        for name, share in false_fails(rng, args.runs, args.rps, settings):
            print(f"| {name} | {share:.4f} |", flush=True)
    else:
        power(rng, args.runs, args.rps, args.horizon, settings)
    print(f"\n({time.monotonic() - started:.0f} s; seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
