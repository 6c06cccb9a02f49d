"""How fast the model-quality guard catches a silently wrong v2, and how rarely it aborts a good one.

``python -m bench.quality``. Two parts:

- A simulation of the judge's quality tests, looking every second at 50 rps with the
  canary at 10% of the traffic: A/A false-fail rates (canary = stable) over
  ``--runs`` runs for the accuracy test (feedback on every answer and on a tenth) and
  the class-mix test; and seconds to ``fail`` for wrong-answer ratios, against a
  stable as accurate as v1 and as accurate as v2.
- The real stack (``--real``): Prometheus, Envoy, MLServer, the controller at
  time-scale 1 and the load generator at 50 rps sending the truth of a share of its
  answers; a v2 with ``wrong_ratio`` rolled out, timed from its first request to
  weight 0, with the wrong answers users got from it.
"""

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from canary.judge import quality, twosample
from canary.judge.settings import JudgeSettings
from canary.local.harness import exit_on_sigterm

CANARY_RPS, STABLE_RPS = 5, 45  # 50 rps at weight 10
STEP_S, LATER_CANARY_RPS, LATER_STABLE_RPS = 180, 25, 25  # the Rollout's 10% analysis, then its 50% analysis
INCORRECT = {"v1": 0.056, "v2": 0.006}  # measured on the wine rows: v1 94.4% and v2 99.4% accurate
BEFORE_S = 60  # stable served alone this long, with the same feedback, before the analysis: its informed prior
WRONG_RATIOS = (0.05, 0.1, 0.3, 1.0)


def _cumulative(rng, rates: tuple[float, float], p: float, runs: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(events, trials) after each second: Poisson trials a second (the first rate for STEP_S, then the
    second), each an event with chance p. One analysis key spans both steps, so the counts run on."""
    per_s = np.where(np.arange(horizon) < STEP_S, rates[0], rates[1])
    trials = rng.poisson(per_s, size=(runs, horizon))
    return rng.binomial(trials, p).cumsum(axis=1), trials.cumsum(axis=1)


def _stable_prior(rng, runs: int, feedback: float, past_p: float, settings: JudgeSettings) -> tuple:
    """Each run's informed prior from BEFORE_S seconds of stable alone at 50 rps with incorrect rate past_p."""
    n0 = rng.poisson((CANARY_RPS + STABLE_RPS) * feedback * BEFORE_S, size=(runs, 1))
    x0 = rng.binomial(n0, past_p)
    weight = np.minimum(1.0, np.divide(settings.accuracy_prior_answers, n0, out=np.zeros(n0.shape), where=n0 > 0))
    return 0.5 + weight * x0, 0.5 + weight * (n0 - x0)


def accuracy_fail_times(rng, runs: int, horizon: int, feedback: float, canary_p: float, stable_p: float,
                        settings: JudgeSettings, past_p: float | None = None) -> np.ndarray:
    """Seconds until the accuracy test fails in each run (inf when it never does); stable's incorrect rate
    before the analysis is ``past_p`` (default: the same as during it)."""
    xc, nc = _cumulative(rng, (CANARY_RPS * feedback, LATER_CANARY_RPS * feedback), canary_p, runs, horizon)
    xs, ns = _cumulative(rng, (STABLE_RPS * feedback, LATER_STABLE_RPS * feedback), stable_p, runs, horizon)
    prior = _stable_prior(rng, runs, feedback, stable_p if past_p is None else past_p, settings)
    log_e = twosample.log_e_worse(xc, nc, xs, ns, settings.accuracy_absolute, stable_prior=prior)
    failed = log_e >= math.log(2 / settings.alpha)  # two tests in the quality question
    return np.where(failed.any(axis=1), failed.argmax(axis=1) + 1.0, np.inf)


def class_mix_false_fails(rng, runs: int, horizon: int, alpha: float) -> float:
    """A/A at the null's edge (tolerance 0, the hardest case): the share of runs the class mix ever fails."""
    shares = [0.337, 0.393, 0.270]
    canary = rng.multinomial(CANARY_RPS, shares, size=(runs, horizon)).cumsum(axis=1)
    stable = rng.multinomial(STABLE_RPS, shares, size=(runs, horizon)).cumsum(axis=1)
    log_e = quality.log_e_ratio(canary, canary.sum(-1, keepdims=True), stable, stable.sum(-1, keepdims=True), 0.0)
    return float((log_e >= math.log(3 * 2 / alpha)).any(axis=(1, 2)).mean())


def _row(times: np.ndarray) -> str:
    median, p90 = (np.quantile(times, q, method="inverted_cdf") for q in (0.5, 0.9))
    show = lambda t: "never" if not np.isfinite(t) else f"{t:.0f}"  # noqa: E731
    return f"{show(median)} | {show(p90)} | {np.isfinite(times).mean():.3f}"


def simulate(args, settings: JudgeSettings) -> None:
    """Print the simulation's tables (Markdown)."""
    rng = np.random.default_rng(args.seed)
    print(f"accuracy tolerance {settings.accuracy_absolute:g}, class-mix tolerance {settings.class_mix_relative:g}, "
          f"alpha {settings.alpha:g} over 2 tests; {args.runs} runs, {args.horizon} s, looking every second\n")
    print("| A/A test | false fails (bound) |\n|---|---|")
    for feedback in (1.0, 0.1):
        for tol in (settings.accuracy_absolute, 0.0):
            s = settings.model_copy(update={"accuracy_absolute": tol})
            times = accuracy_fail_times(rng, args.runs, args.horizon, feedback, 0.056, 0.056, s)
            print(f"| accuracy, feedback {feedback:g}, tolerance {tol:g}, both 94.4% | "
                  f"{np.isfinite(times).mean():.4f} ({settings.alpha / 2:g}) |")
        # A stable whose past misleads its prior: 99.4% accurate before the analysis, 94.4% during it.
        times = accuracy_fail_times(rng, args.runs, args.horizon, feedback, 0.056 + settings.accuracy_absolute, 0.056,
                                    settings, past_p=0.006)
        print(f"| accuracy, feedback {feedback:g}, at the null's edge (canary 2 points worse), stable's past 99.4% | "
              f"{np.isfinite(times).mean():.4f} ({settings.alpha / 2:g}) |")
    print(f"| class mix, tolerance 0, v2's mix | {class_mix_false_fails(rng, args.runs, args.horizon, settings.alpha):.4f} "
          f"({settings.alpha / 2:g}) |")
    print("\n| stable | canary wrong-answer ratio | feedback | median s to fail | p90 s | share failed |\n|---|---|---|---|---|---|")
    for stable in ("v1", "v2"):
        for wrong in WRONG_RATIOS:
            canary_p = wrong + (1 - wrong) * INCORRECT["v2"]  # a wrong answer is never the true class
            for feedback in (1.0, 0.1):
                times = accuracy_fail_times(rng, args.runs, args.horizon, feedback, canary_p, INCORRECT[stable], settings)
                print(f"| {stable} ({1 - INCORRECT[stable]:.1%}) | {wrong:g} | {feedback:g} | {_row(times)} |")


def real(args) -> None:
    """Roll out silently wrong v2s on the real stack; print one row each."""
    from bench.designs import variant
    from bench.rollout import Rig, time_to_zero
    from models import train

    print("\n| v2 wrong-answer ratio | feedback | seconds from its first request to weight 0 | aborted by | "
          "v2 answers to users | of them wrong |\n|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        work = Path(tmp)
        for version in ("v1", "v2"):
            train.train(version, work / "artifacts")
        no_shadow = variant(work / "k8s-no-shadow", shadow=False)  # the weighted steps' quality tests alone
        for wrong, feedback in () if args.shadow_only else args.cases:
            rig = Rig(work, no_shadow, 1.0, f"wrong-{wrong}-{feedback}", feedback)
            try:
                time.sleep(args.before)  # stable serves alone first, as it has before any real rollout
                seconds, _, _, why = time_to_zero(rig, {"wrong_ratio": wrong}, 420)
                answered, wrong_seen = rig.canary_answers()  # Envoy's 200s would count the feedback too
            finally:
                rig.close()
            print(f"| {wrong:g} | {feedback:g} | {seconds:.1f} | {why} | {answered} | {wrong_seen} |", flush=True)
        print(shadow_run(work), flush=True)


def shadow_run(work: Path) -> str:
    """A 30%-wrong v2 under the shipped Rollout, which starts with the shadow phase: one row."""
    import json

    from bench.designs import ROOT
    from bench.rollout import Rig
    from canary.local.harness import wait_for

    rig = Rig(work, ROOT / "k8s", 1.0, "shadow", 0.0)
    try:
        rig.client.post("/rollout", {"version": "v2", "faults": {"wrong_ratio": 0.3}})
        while rig.canary_count("upstream_rq_total") == 0:  # the first copy
            time.sleep(0.02)
        t0 = time.monotonic()
        doc = wait_for(rig.client, lambda d: d["phase"] in ("Healthy", "Degraded"), 420, events=0)
        seconds, copies = time.monotonic() - t0, rig.canary_count("upstream_rq_total")
    finally:
        rig.close()
    users = json.loads((work / "shadow-lg.json").read_text())["by_version"].get("v2", {}).get("requests", 0)
    why = doc["message"].split(":")[1].strip() if doc["phase"] == "Degraded" else f"not aborted ({doc['phase']})"
    return (f"| 0.3, shadow phase | 0 | {seconds:.1f} (in the mirror phase, {copies} copies) | {why} | {users} | "
            f"{0 if users == 0 else 'some'} |")


def _cases(text: str) -> list[tuple[float, float]]:
    try:
        cases = [tuple(float(x) for x in case.split(":")) for case in text.split(",") if case.strip()]
    except ValueError:
        cases = []
    if not cases or any(len(c) != 2 or not all(0 <= x <= 1 for x in c) for c in cases):
        raise argparse.ArgumentTypeError(f"{text!r}: want WRONG_RATIO:FEEDBACK_RATIO pairs in 0..1, e.g. 0.3:0.1")
    return cases


def main(argv: list[str] | None = None) -> int:
    """The simulation, then (with --real) the real stack."""
    p = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10000, help="simulated runs per row (default %(default)s)")
    p.add_argument("--horizon", type=int, default=2 * STEP_S,
                   help="simulated seconds: the 10%% analysis, then the 50%% one (default %(default)s)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--real", action="store_true", help="also roll out silently wrong v2s on the real stack")
    p.add_argument("--before", type=float, default=BEFORE_S,
                   help="with --real: seconds stable serves alone, with feedback, before each rollout (default %(default)s)")
    p.add_argument("--shadow-only", action="store_true", help="with --real: only the shipped Rollout's shadow phase")
    p.add_argument("--no-simulation", action="store_true", help="with --real: skip the simulation")
    p.add_argument("--cases", type=_cases, default=_cases("0.3:1,0.3:0.1,0.05:1"),
                   help="with --real: the feedback runs, as WRONG_RATIO:FEEDBACK_RATIO,... (default 0.3:1,0.3:0.1,0.05:1)")
    args = p.parse_args(argv)
    exit_on_sigterm()
    started = time.monotonic()
    if not (args.real and args.no_simulation):
        simulate(args, JudgeSettings())
    if args.real:
        real(args)
    print(f"\n{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
