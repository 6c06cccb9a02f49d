"""``make demo``: a real canary rollout that promotes, then a faulty one that is rolled back automatically.

Starts the stack (Prometheus, Envoy, MLServer), the controller (time-scaled) and
the load generator at 50 rps; rolls v1 -> v2 through every step; returns to v1;
rolls out a v2 with FAULT_ERROR_RATIO and watches the abort. Exits 0 only if the
healthy rollout promoted and the faulty one aborted.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from canary.client import ControlClient
from canary.settings import ControllerSettings, StackSettings

ROOT = Path(__file__).resolve().parent.parent


def _wait(client: ControlClient, done, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        doc = client.get(events=0)
        if done(doc):
            return doc
        time.sleep(0.5)
    raise TimeoutError(f"still {doc['phase']} at step {doc['step'] + 1} after {timeout_s:.0f}s")


def _prom(address: str, query: str) -> list[dict]:
    return httpx.get(f"{address}/api/v1/query", params={"query": query}, timeout=10).json()["data"]["result"]


def step_table(history: list[dict], prometheus: str) -> list[str]:
    """Per step: weight, analysis verdicts, requests and 5xx per version, from Envoy's counters."""
    rows = []
    for before, entry in zip(history, history[1:]):
        window = max(entry["at"] - before["at"], 1.0)
        counts = {}
        for r in _prom(prometheus, f'sum by (envoy_cluster_name, envoy_response_code_class) (increase('
                                   f'envoy_cluster_upstream_rq_xx{{envoy_cluster_name=~"wine-.+"}}[{window:.0f}s] @ {entry["at"]:.3f}))'):
            version = r["metric"]["envoy_cluster_name"].removeprefix("wine-")
            total, errors = counts.get(version, (0, 0))
            n = round(float(r["value"][1]))
            counts[version] = (total + n, errors + (n if r["metric"]["envoy_response_code_class"] == "5" else 0))
        traffic = ", ".join(f"{v}: {t} requests, {e} 5xx" for v, (t, e) in sorted(counts.items()))
        verdicts = ", ".join(f"{k} {v}" for k, v in entry.get("verdicts", {}).items())
        if entry["kind"] == "analysis":
            rows.append(f"  step {entry['step']} analysis at weight {entry['weight']:>3}: {verdicts} | {traffic}")
    return rows


class Demo:
    def __init__(self, args):
        self.args = args
        self.run_dir = Path(args.run_dir).resolve()
        self.env = {**os.environ, "CANARY_RUN_DIR": str(self.run_dir)}
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, cmd: list[str], ready=None, log: Path | None = None) -> subprocess.Popen:
        out = open(log, "w") if log else None
        proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT if out else None)
        self.procs.append(proc)
        deadline = time.monotonic() + 180
        while ready and not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} failed to start" + (f":\n{log.read_text()}" if log else ""))
            time.sleep(0.2)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.procs.clear()

    def fresh_stack(self, lg_json: Path) -> ControlClient:
        """Stack (v1), controller and load generator, all new: no series or state from before."""
        a, py = self.args, sys.executable
        for stale in ("controller.db", "controller.db-wal", "controller.db-shm"):
            (self.run_dir / stale).unlink(missing_ok=True)
        up_log = self.run_dir / "up.log"
        self.start("canary up", [py, "-m", "canary", "up"], lambda: "stack ready" in up_log.read_text(), up_log)
        print(up_log.read_text().strip().splitlines()[-1], flush=True)
        self.start("controller", [py, "-m", "canary", "controller", "--time-scale", str(a.time_scale)],
                   lambda: (self.run_dir / "controller.json").exists())
        self.start("loadgen", [py, "-m", "loadgen", "--target", f"http://127.0.0.1:{StackSettings().gateway_port}",
                               "--rps", str(a.rps), "--quiet", "--json", str(lg_json), "--metrics-port",
                               str(StackSettings().loadgen_metrics_port)])
        time.sleep(3)
        return ControlClient(self.run_dir, user="make-demo")

    def run(self) -> int:
        a = self.args
        self.run_dir.mkdir(parents=True, exist_ok=True)
        prometheus = f"http://127.0.0.1:{StackSettings().prometheus_port}"
        print(f"== starting the stack (Prometheus, Envoy, MLServer v1), the controller (time-scale {a.time_scale:g}) "
              f"and the load generator ({a.rps:g} rps); stack log: {self.run_dir / 'up.log'}", flush=True)
        client = self.fresh_stack(self.run_dir / "loadgen-1.json")

        print("\n== 1. roll out v2: 10% -> analysis -> 50% -> analysis -> 100%", flush=True)
        client.post("/rollout", {"version": "v2"})
        healthy = _wait(client, lambda d: d["phase"] in ("Healthy", "Degraded"), 60 + 600 / a.time_scale)
        promoted = healthy["phase"] == "Healthy" and healthy["stable"] == "v2"
        healthy_rows = step_table(healthy["history"], prometheus)
        self.stop()

        # The analysis keys series by version: a v2 that was stable a minute ago would
        # still be in the windows. A fresh v1 stack gives the faulty v2 a clean history.
        print("\n== 2. a fresh stack with v1 stable, to roll out a faulty v2 from scratch", flush=True)
        client = self.fresh_stack(self.run_dir / "loadgen-2.json")
        print("\n== 3. roll out a v2 that fails 30% of its requests (FAULT_ERROR_RATIO=0.3)", flush=True)
        client.post("/rollout", {"version": "v2", "faults": {"error_ratio": 0.3}})
        faulty = _wait(client, lambda d: d["phase"] in ("Healthy", "Degraded"), 60 + 600 / a.time_scale)
        aborted = faulty["phase"] == "Degraded" and "RolloutAborted" in faulty["message"]
        time.sleep(2)
        answered = [httpx.post(f"http://127.0.0.1:{StackSettings().gateway_port}/v2/models/wine/infer", timeout=5,
                               json={"inputs": [{"name": "x", "shape": [1, 13], "datatype": "FP64",
                                                 "data": [13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]}]}
                               ).headers.get("x-model-version") for _ in range(50)]
        faulty_rows = step_table(faulty["history"], prometheus)
        aborted_after = next((e["at"] for e in reversed(faulty["history"]) if e.get("verdicts")), None)
        started_weight = next((e["at"] for e in faulty["history"] if e.get("kind") == "setWeight"), None)
        self.stop()

        print("\n== summary", flush=True)
        print(f"healthy v2: {'PROMOTED' if promoted else 'NOT PROMOTED: ' + healthy['message']}")
        print("\n".join(healthy_rows))
        print(f"faulty v2:  {'ABORTED automatically' if aborted else 'NOT ABORTED'}: {faulty['message']}")
        if aborted_after and started_weight:
            print(f"  aborted {aborted_after - started_weight:.1f}s after the canary got 10% of traffic")
        print("\n".join(faulty_rows))
        print(f"after the abort: {answered.count('v1')}/50 requests through the gateway answered by v1")
        for n in (1, 2):
            path = self.run_dir / f"loadgen-{n}.json"
            if path.exists():
                lg = json.loads(path.read_text())
                per = ", ".join(f"{v}: {d['requests']} requests, success {d['success_ratio']:.4f}"
                                for v, d in lg["by_version"].items())
                print(f"load generator, part {n}: {lg['requests']} requests at {lg['achieved_rps']:.1f} rps, "
                      f"late sends {lg['late_sends']} ({per})")
        ok = promoted and aborted and answered.count("v1") == 50
        print("\ndemo " + ("passed: a rollout promoted and a faulty one rolled back" if ok else "FAILED"))
        return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m canary.demo", description=__doc__.splitlines()[0])
    p.add_argument("--time-scale", type=float, default=4.0, help="default %(default)s: each 3-minute analysis takes 45 s")
    p.add_argument("--rps", type=float, default=50.0)
    p.add_argument("--run-dir", default="run/demo")
    args = p.parse_args(argv)
    ControllerSettings()  # refuse bad CANARY_* variables before starting anything
    demo = Demo(args)
    try:
        return demo.run()
    except (RuntimeError, TimeoutError, OSError, AssertionError) as exc:
        print(f"demo FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        demo.stop()


if __name__ == "__main__":
    sys.exit(main())
