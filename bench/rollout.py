"""How fast a failing canary is taken out, and whether a healthy one is ever aborted.

``python -m bench.rollout``. At 50 rps with the 10% first step: inject 100% errors
into the canary once its analysis runs, and measure the seconds until the
controller sets its weight to 0 and the failed requests served meanwhile (Envoy's
5xx count for the canary's cluster). Two designs, same run: the shipped template
(the 3-minute gate plus the fast-fail metric), and the gate alone (the fast-fail
metric removed from a copy of k8s/). Then healthy rollouts, counting false aborts.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from canary.local.harness import Harness, free_port_env, wait_for
from models import train

ROOT = Path(__file__).resolve().parent.parent


def gate_only_k8s(folder: Path) -> Path:
    """A copy of k8s/ whose success-rate template has no error-burst metric."""
    shutil.copytree(ROOT / "k8s", folder)
    path = folder / "base" / "analysistemplate-success-rate.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["spec"]["metrics"] = [m for m in doc["spec"]["metrics"] if m["name"] != "error-burst"]
    path.write_text(yaml.safe_dump(doc))
    return folder


class Rig:
    """A stack with its controller and 50 rps of load, through the harness."""

    def __init__(self, work: Path, k8s: Path, scale: float, name: str):
        env = {**free_port_env(), "CANARY_K8S_DIR": str(k8s), "CANARY_ARTIFACTS": str(work / "artifacts")}
        self.harness = Harness(work / name, env, user="bench")
        self.harness.start_stack()
        self.client = self.harness.start_controller(scale)
        self.harness.start_loadgen(50, work / f"{name}-lg.json")
        self.harness.wait_traffic()
        self.admin = f"http://127.0.0.1:{self.harness.settings.envoy_admin_port}"

    def canary_5xx(self) -> int:
        """Envoy's 5xx count for the canary's cluster."""
        stats = httpx.get(f"{self.admin}/stats", params={"filter": r"^cluster\.wine-v2-[0-9a-f]+\.upstream_rq_5xx$"},
                          timeout=5).text
        return sum(int(line.rsplit(":", 1)[1]) for line in stats.splitlines() if ":" in line)

    def close(self):
        """Stop load, controller and stack."""
        self.harness.stop()


def time_to_zero(rig: Rig) -> tuple[float, int]:
    """Inject 100% errors once the analysis runs; seconds to canary weight 0 and the failed requests meanwhile."""
    rig.client.post("/rollout", {"version": "v2"})
    while not (rig.client.get(events=0)["analysis"]):
        time.sleep(0.05)
    time.sleep(2)  # the canary takes traffic for a moment before it breaks
    before = rig.canary_5xx()
    rig.client.post("/fault", {"version": "v2", "error_ratio": 1.0})
    t0 = time.monotonic()
    while rig.client.get(events=0)["weight"] != 0:
        time.sleep(0.05)
    seconds = time.monotonic() - t0
    time.sleep(1)  # requests already in flight when the weight dropped
    return seconds, rig.canary_5xx() - before


def failure_runs(work: Path, args) -> dict:
    """Per time-scale and design: (seconds to weight 0, failed requests) of each injection."""
    results = {}
    designs = {"gate + fast fail (shipped)": ROOT / "k8s", "gate only": gate_only_k8s(work / "k8s-gate-only")}
    for scale in (float(s) for s in args.scales.split(",") if s):
        for design, k8s in designs.items():
            runs = []
            for i in range(args.runs):
                rig = Rig(work, k8s, scale, f"run-{scale:g}-{len(results)}-{i}")
                try:
                    runs.append(time_to_zero(rig))
                finally:
                    rig.close()
                print(f"time-scale {scale:g}, {design}: {runs[-1][0]:.1f}s to weight 0, {runs[-1][1]} failed requests",
                      flush=True)
            results[(scale, design)] = runs
    return results


def healthy_runs(work: Path, args) -> tuple[int, int]:
    """Healthy rollouts of v2: (promoted, aborted)."""
    aborts, promoted = 0, 0
    for i in range(args.healthy_runs):
        rig = Rig(work, ROOT / "k8s", args.healthy_scale, f"healthy-{i}")
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
    """Failure injections per design and scale, then healthy rollouts; print the tables."""
    p = argparse.ArgumentParser(prog="python -m bench.rollout", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3, help="failure injections per design and scale")
    p.add_argument("--healthy-runs", type=int, default=20)
    p.add_argument("--scales", default="1,4", help="time-scales for the failure injections ('' to skip them)")
    p.add_argument("--healthy-scale", type=float, default=4.0)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as tmp:
        work = Path(tmp)
        for version in ("v1", "v2"):
            train.train(version, work / "artifacts")
        results = failure_runs(work, args)
        promoted, aborts = healthy_runs(work, args)
    print("\n| time-scale | design | seconds to canary weight 0 (median, runs) | failed requests (median, runs) |")
    print("|---|---|---|---|")
    for (scale, design), runs in results.items():
        secs, fails = [r[0] for r in runs], [r[1] for r in runs]
        print(f"| {scale:g} | {design} | {statistics.median(secs):.1f} ({', '.join(f'{s:.1f}' for s in secs)}) | "
              f"{statistics.median(fails):.0f} ({', '.join(map(str, fails))}) |")
    print(f"\nhealthy v2 at time-scale {args.healthy_scale:g}: {promoted} promoted, {aborts} aborted "
          f"out of {args.healthy_runs}")
    print(json.dumps({f"{k[0]}|{k[1]}": v for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
