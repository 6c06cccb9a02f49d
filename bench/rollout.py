"""How fast a faulty canary is taken out on the real stack, and whether a healthy one is ever aborted.

``python -m bench.rollout``. A real stack (Prometheus, Envoy, MLServer), the real
controller and the load generator at 50 rps. Each scenario rolls out a v2 that is
faulty from its start; measured from its first request (Envoy's count for its
cluster, polled every 20 ms: a mirrored copy under the shadow phase) until the
controller aborts it or sets its weight back to 0: the seconds, the failed requests
users got from it and its failed copies (Envoy's 5xx count for its cluster, before
and after the first weight), and the analysis metric that aborted it. Designs: the
shipped Rollout (the shadow phase, then the gates and the judge), the same without
the shadow phase, and the gates alone (``--designs``). Then healthy rollouts of
the shipped Rollout as a user starts them (``canary controller --time-scale 4``, the load
generator's defaults at 50 rps), counting false aborts; ``--busy`` keeps every core busy
meanwhile with CPU hogs of its own, bounded in time (a machine also doing other work).
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.designs import ROOT, trained_work, variant
from canary.local.harness import Harness, exit_on_sigterm, free_port_env, wait_for

ENDED = ("Healthy", "Degraded")
DESIGNS = {"shipped": "shipped: shadow phase, gates, judge", "no-shadow": "no shadow phase: gates, judge",
           "gates-only": "gates only"}
SCENARIOS = {"100% errors": {"error_ratio": 1.0}, "10% errors": {"error_ratio": 0.1},
             "3% errors": {"error_ratio": 0.03}, "3x slower (+3 ms)": {"latency_ms": 3},
             "7x slower (+10 ms)": {"latency_ms": 10}}


class Rig:
    """A stack with its controller and 50 rps of load, through the harness."""

    def __init__(self, work: Path, k8s: Path, scale: float, name: str, feedback_ratio: float | None = 0.0):
        env = {**free_port_env(), "CANARY_K8S_DIR": str(k8s), "CANARY_ARTIFACTS": str(work / "artifacts")}
        self.harness = Harness(work / name, env, user="bench")
        self.harness.start_stack()
        self.client = self.harness.start_controller(scale)
        flags = () if feedback_ratio is None else ("--feedback-ratio", f"{feedback_ratio:g}")
        self.harness.start_loadgen(50, work / f"{name}-lg.json", *flags)
        self.harness.wait_traffic()

    def canary_count(self, stat: str = "upstream_rq_5xx") -> int:
        """A counter of the gateway's cluster for the canary (wine-v2)."""
        return self.harness.envoy_stat(rf"^cluster\.wine-v2\.{stat}$")

    def canary_answers(self) -> tuple[int, int]:
        """(rows the canary's runtime answered, of them wrong on purpose), from its own counters."""
        from prometheus_client.parser import text_string_to_metric_families

        text = httpx.get(f"http://127.0.0.1:{self.harness.settings.canary_port + 2}/metrics", timeout=5).text
        samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
        return (round(sum(s.value for s in samples if s.name == "mlcanary_predictions_total")),
                round(sum(s.value for s in samples if s.name == "mlcanary_faults_injected_total"
                          and s.labels.get("kind") == "wrong_prediction")))

    def close(self):
        """Stop load, controller and stack."""
        self.harness.stop()


def time_to_zero(rig: Rig, faults: dict, limit_s: float) -> tuple[float, int, int, str]:
    """Roll out a faulty v2: seconds from its first request (a copy, under a shadow phase) to its abort or
    to weight 0; the failed requests users got from it and its failed copies; why it was aborted."""
    rig.client.post("/rollout", {"version": "v2", "faults": faults})
    while rig.canary_count("upstream_rq_total") == 0:  # Envoy's own count: the first request it sent the canary
        time.sleep(0.02)
    t0, copies_failed, weighted = time.monotonic(), 0, False
    doc = rig.client.get(events=0)
    while doc["phase"] not in ENDED and not (weighted and doc["weight"] == 0) and time.monotonic() - t0 < limit_s:
        if doc["mirror_routes"]:  # the last count under the mirror: a late copy's failure counts as a user's
            copies_failed = rig.canary_count()
        weighted = weighted or doc["weight"] > 0
        time.sleep(0.02)
        doc = rig.client.get(events=0)
    seconds = time.monotonic() - t0
    time.sleep(1)  # requests already in flight when the weight dropped
    failed = rig.canary_count()
    copies_failed = copies_failed if weighted else failed  # never weighted: no user request reached it
    why = doc["message"].split(":")[1].strip() if doc["phase"] == "Degraded" else f"not aborted ({doc['phase']})"
    return seconds, failed - copies_failed, copies_failed, why


def scenario_runs(work: Path, args) -> list[tuple]:
    """(scenario, design, seconds, failed user requests, failed copies, why) of every run."""
    rows, designs = [], {}
    for design in (d.strip() for d in args.designs.split(",") if d.strip()):
        designs[DESIGNS[design]] = ROOT / "k8s" if design == "shipped" else variant(
            work / f"k8s-{design}", shadow=False, judge=design != "gates-only")
    for name in (s.strip() for s in args.scenarios.split(",") if s.strip()):
        for design, k8s in designs.items():
            for i in range(args.runs):
                rig = Rig(work, k8s, args.scale, f"{name.split()[0]}-{len(rows)}")
                try:
                    rows.append((name, design, *time_to_zero(rig, SCENARIOS[name], 420 / args.scale)))
                finally:
                    rig.close()
                print(f"{name}, {design}: {rows[-1][2]:.1f} s, {rows[-1][3]} failed user requests, "
                      f"{rows[-1][4]} failed copies, {rows[-1][5]}", flush=True)
    return rows


def cpu_hogs(seconds: float, count: int | None = None) -> list[subprocess.Popen]:
    """A busy loop per core (or ``count`` of them), each ending by itself after ``seconds``."""
    loop = f"import time\nend = time.monotonic() + {seconds:g}\nwhile time.monotonic() < end:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", loop]) for _ in range(count if count is not None else os.cpu_count() or 1)]


def healthy_runs(work: Path, args) -> tuple[int, int]:
    """Healthy rollouts of v2 (the machine busy with ``--busy``): (promoted, aborted)."""
    aborts, promoted = 0, 0
    for i in range(args.healthy_runs):
        rig = Rig(work, ROOT / "k8s", args.healthy_scale, f"healthy-{i}", args.feedback_ratio)
        hogs = cpu_hogs(900) if args.busy else []
        try:
            rig.client.post("/rollout", {"version": "v2"})
            doc = wait_for(rig.client, lambda d: d["phase"] in ENDED, 900, events=0)
            aborts += doc["phase"] == "Degraded"
            promoted += doc["phase"] == "Healthy"
            print(f"healthy run {i + 1}/{args.healthy_runs}{' (busy)' if args.busy else ''}: {doc['phase']} "
                  f"{doc['message']}", flush=True)
        finally:
            for hog in hogs:
                hog.kill()
            rig.close()
    return promoted, aborts


def _designs(text: str) -> str:
    unknown = {d.strip() for d in text.split(",") if d.strip()} - set(DESIGNS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown design {', '.join(sorted(unknown))}: use {', '.join(DESIGNS)}")
    return text


def main(argv: list[str] | None = None) -> int:
    """The scenarios, then the healthy rollouts; a Markdown table."""
    p = argparse.ArgumentParser(prog="python -m bench.rollout", description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated, of: " + ", ".join(SCENARIOS).replace("%", "%%"))
    p.add_argument("--runs", type=int, default=1, help="runs per scenario and design")
    p.add_argument("--scale", type=float, default=1.0, help="the controller's time-scale for the scenarios")
    p.add_argument("--designs", default="shipped,no-shadow", type=_designs,
                   help="comma-separated, of: " + ", ".join(DESIGNS) + " (default %(default)s)")
    p.add_argument("--healthy-runs", type=int, default=10)
    p.add_argument("--healthy-scale", type=float, default=4.0,
                   help="the controller's time-scale for the healthy runs (default %(default)s, as docs/local.md runs it)")
    p.add_argument("--feedback-ratio", type=float, default=None,
                   help="share of answers whose truth the load generator sends back in the healthy runs (default: "
                   "the load generator's own; 1 puts the accuracy test at its most sensitive)")
    p.add_argument("--busy", action="store_true", help="keep every core busy during the healthy runs (CPU hogs)")
    args = p.parse_args(argv)
    exit_on_sigterm()
    with trained_work("bench-rollout-") as work:
        rows = scenario_runs(work, args)
        promoted, aborts = healthy_runs(work, args)
    print(f"\n| v2 (time-scale {args.scale:g}, 50 rps) | design | seconds from its first request to the abort | "
          "failed user requests | failed copies | aborted by |")
    print("|---|---|---|---|---|---|")
    for name, design, seconds, failed, copies, why in rows:
        print(f"| {name} | {design} | {seconds:.1f} | {failed} | {copies} | {why} |")
    print(f"\nhealthy v2 at time-scale {args.healthy_scale:g}{', every core busy' if args.busy else ''}: "
          f"{promoted} promoted, {aborts} aborted out of {args.healthy_runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
