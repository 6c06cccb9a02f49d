"""How fast a faulty canary is taken out on the real stack, and whether a healthy one is ever aborted.

``python -m bench.rollout``. A real stack (Prometheus, Envoy, MLServer), the real
controller and the load generator at 50 rps. Each scenario rolls out a v2 that is
faulty from its start; measured from its first request (Envoy's count for its
cluster, polled every 20 ms) until the controller sets its weight back to 0: the
seconds, the canary's failed requests
(Envoy's 5xx count for its cluster) and the analysis metric that aborted it. Two
designs: the shipped Rollout (the gates plus the judge), and the gates alone (a copy
of k8s/ whose analysis steps do not name the judge). Then healthy rollouts, counting
false aborts, with the truth of every answer sent back (``--feedback-ratio``) so the
model-quality tests judge them too.
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from canary.local.harness import Harness, free_port_env, wait_for
from models import train

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {"100% errors": {"error_ratio": 1.0}, "10% errors": {"error_ratio": 0.1},
             "3% errors": {"error_ratio": 0.03}, "3x slower (+3 ms)": {"latency_ms": 3}}


def gates_only_k8s(folder: Path) -> Path:
    """A copy of k8s/ whose analysis steps run the success-rate and latency gates without the judge."""
    shutil.copytree(ROOT / "k8s", folder)
    path = folder / "base" / "rollout.yaml"
    doc = yaml.safe_load(path.read_text())
    for step in doc["spec"]["strategy"]["canary"]["steps"]:
        if "analysis" in step:
            step["analysis"]["templates"] = [t for t in step["analysis"]["templates"] if t["templateName"] != "judge"]
    path.write_text(yaml.safe_dump(doc))
    return folder


class Rig:
    """A stack with its controller and 50 rps of load, through the harness."""

    def __init__(self, work: Path, k8s: Path, scale: float, name: str, feedback_ratio: float = 0.0):
        env = {**free_port_env(), "CANARY_K8S_DIR": str(k8s), "CANARY_ARTIFACTS": str(work / "artifacts")}
        self.harness = Harness(work / name, env, user="bench")
        self.harness.start_stack()
        self.client = self.harness.start_controller(scale)
        self.harness.start_loadgen(50, work / f"{name}-lg.json", "--feedback-ratio", f"{feedback_ratio:g}")
        self.harness.wait_traffic()
        self.admin = f"http://127.0.0.1:{self.harness.settings.envoy_admin_port}"

    def canary_count(self, stat: str = "upstream_rq_5xx") -> int:
        """An Envoy counter of the canary's cluster (its stats carry the revision: wine-v2-<revision>)."""
        stats = httpx.get(f"{self.admin}/stats", params={"filter": rf"^cluster\.wine-v2-[0-9a-f]+\.{stat}$"},
                          timeout=5).text
        return sum(int(line.rsplit(":", 1)[1]) for line in stats.splitlines() if ":" in line)

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


def time_to_zero(rig: Rig, faults: dict, limit_s: float) -> tuple[float, int, str]:
    """Roll out a faulty v2; seconds from its first request to weight 0, its failed requests, and why it was aborted."""
    rig.client.post("/rollout", {"version": "v2", "faults": faults})
    while rig.canary_count("upstream_rq_total") == 0:  # Envoy's own count: the first request it sent the canary
        time.sleep(0.02)
    t0 = time.monotonic()
    doc = rig.client.get(events=0)
    while doc["weight"] != 0 and doc["phase"] != "Healthy" and time.monotonic() - t0 < limit_s:
        time.sleep(0.02)
        doc = rig.client.get(events=0)
    seconds = time.monotonic() - t0
    time.sleep(1)  # requests already in flight when the weight dropped
    why = doc["message"].split(":")[1].strip() if doc["phase"] == "Degraded" else f"not aborted ({doc['phase']})"
    return seconds, rig.canary_count(), why


def scenario_runs(work: Path, args) -> list[tuple]:
    """(scenario, design, seconds, failed requests, why) of every run."""
    rows, designs = [], {"gates + judge (shipped)": ROOT / "k8s"}
    if args.compare:
        designs["gates only"] = gates_only_k8s(work / "k8s-gates-only")
    for name in (s.strip() for s in args.scenarios.split(",") if s.strip()):
        for design, k8s in designs.items():
            for i in range(args.runs):
                rig = Rig(work, k8s, args.scale, f"{name.split()[0]}-{len(rows)}")
                try:
                    rows.append((name, design, *time_to_zero(rig, SCENARIOS[name], 420 / args.scale)))
                finally:
                    rig.close()
                print(f"{name}, {design}: {rows[-1][2]:.1f} s to weight 0, {rows[-1][3]} failed requests, "
                      f"{rows[-1][4]}", flush=True)
    return rows


def healthy_runs(work: Path, args) -> tuple[int, int]:
    """Healthy rollouts of v2: (promoted, aborted)."""
    aborts, promoted = 0, 0
    for i in range(args.healthy_runs):
        rig = Rig(work, ROOT / "k8s", args.healthy_scale, f"healthy-{i}", args.feedback_ratio)
        try:
            rig.client.post("/rollout", {"version": "v2"})
            doc = wait_for(rig.client, lambda d: d["phase"] in ("Healthy", "Degraded"), 900, events=0)
            aborts += doc["phase"] == "Degraded"
            promoted += doc["phase"] == "Healthy"
            print(f"healthy run {i + 1}/{args.healthy_runs}: {doc['phase']} {doc['message']}", flush=True)
        finally:
            rig.close()
    return promoted, aborts


def main(argv: list[str] | None = None) -> int:
    """The scenarios, then the healthy rollouts; a Markdown table."""
    p = argparse.ArgumentParser(prog="python -m bench.rollout", description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated, of: " + ", ".join(SCENARIOS).replace("%", "%%"))
    p.add_argument("--runs", type=int, default=1, help="runs per scenario and design")
    p.add_argument("--scale", type=float, default=1.0, help="the controller's time-scale for the scenarios")
    p.add_argument("--compare", action="store_true", help="also run the gates without the judge")
    p.add_argument("--healthy-runs", type=int, default=20)
    p.add_argument("--healthy-scale", type=float, default=1.0)
    p.add_argument("--feedback-ratio", type=float, default=1.0,
                   help="share of answers whose truth the load generator sends back in the healthy runs (default 1: "
                   "the accuracy test at its most sensitive)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as tmp:
        work = Path(tmp)
        for version in ("v1", "v2"):
            train.train(version, work / "artifacts")
        rows = scenario_runs(work, args)
        promoted, aborts = healthy_runs(work, args)
    print(f"\n| v2 (time-scale {args.scale:g}, 50 rps) | design | seconds from its first request to weight 0 | failed requests | aborted by |")
    print("|---|---|---|---|---|")
    for name, design, seconds, failed, why in rows:
        print(f"| {name} | {design} | {seconds:.1f} | {failed} | {why} |")
    print(f"\nhealthy v2 at time-scale {args.healthy_scale:g}: {promoted} promoted, {aborts} aborted "
          f"out of {args.healthy_runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
