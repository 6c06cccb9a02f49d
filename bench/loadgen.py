"""How well ``python -m loadgen`` keeps its rate, how fast one core drives it, and its latency
figures beside ``hey`` against the same server.

``python -m bench.loadgen``. The generator runs pinned to CPU 1, the server to CPU 0.
"""

import argparse
import csv
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench import envoy_static, paired
from canary.local import procs
from loadgen import payloads
from models import dataset, train
from servers import repository

ROOT = Path(__file__).resolve().parent.parent
WINDOW_S = 10


def pinned(cpu: str, cmd: list[str]) -> list[str]:
    """Prefix a command with taskset to keep client and server on separate cores."""
    return ["taskset", "-c", cpu, *cmd] if shutil.which("taskset") else cmd


def loadgen(target: str, rps: float, seconds: int, work: Path, extra: tuple[str, ...] = ()) -> dict:
    """Run the load generator for a fixed time; its JSON summary."""
    out = work / "lg.json"
    cmd = pinned("1", [sys.executable, "-m", "loadgen", "--target", target, "--rps", str(rps),
                       "--duration", f"{seconds}s", "--quiet", "--json", str(out), "--max-in-flight", "5000", *extra])
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def window_errors(doc: dict, rps: float) -> list[float]:
    """The worst 10 s window's relative rate error of a run."""
    per_s = doc["sends_by_second"]
    windows = [sum(per_s[i:i + WINDOW_S]) for i in range(0, len(per_s) - WINDOW_S + 1, WINDOW_S)]
    return [abs(w - rps * WINDOW_S) / (rps * WINDOW_S) for w in windows]


def start_static_envoy(work: Path) -> tuple[procs.Process, str]:
    """Envoy with a static config in front of a target, for the gateway comparison."""
    port, admin = procs.free_port(), procs.free_port()
    (work / "envoy.json").write_text(json.dumps(envoy_static.config(port, admin)))
    proc = procs.start(pinned("0", [envoy_static.envoy_binary(), "-c", str(work / "envoy.json"), "--concurrency", "1", "--disable-hot-restart",
                                    "--log-level", "warn"]), work / "envoy.log")
    procs.wait_http_ok(proc, f"http://127.0.0.1:{admin}/ready", timeout_s=30)
    return proc, f"http://127.0.0.1:{port}"


def start_mlserver(work: Path) -> tuple[procs.Process, str]:
    """A real MLServer serving one version, for the benchmarks."""
    train.train("v2", work / "artifacts")
    ports = {name: procs.free_port() for name in repository.DEFAULT_PORTS}
    repo = repository.write(work / "repo", "v2", work / "artifacts", ports=ports)
    proc = procs.start(pinned("0", [str(Path(sys.executable).with_name("mlserver")), "start", str(repo)]), work / "mlserver.log")
    url = f"http://127.0.0.1:{ports['http_port']}"
    procs.wait_http_ok(proc, f"{url}/v2/models/wine/ready")
    return proc, url


def hey(url: str, body: str, rps: int, seconds: int) -> dict:
    """hey with 4 workers at rps/4 each; achieved rps and latency percentiles in ms from its CSV (``-o csv``)."""
    if not shutil.which("hey"):
        raise SystemExit("hey is missing: 'apt-get install hey'")
    cmd = pinned("1", ["hey", "-z", f"{seconds}s", "-c", "4", "-q", str(rps / 4), "-m", "POST", "-o", "csv",
                       "-T", "application/json", "-d", body, url])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    ok = np.array([float(r["response-time"]) for r in rows if r["status-code"] == "200"]) * 1000
    p50, p90, p99 = np.percentile(ok, [50, 90, 99]) if ok.size else (float("nan"),) * 3
    return {"achieved_rps": len(rows) / seconds, "p50": p50, "p90": p90, "p99": p99, "errors": len(rows) - len(ok)}


def beside_hey(url: str, work: Path, seconds: int, rounds: int) -> dict[str, list[dict]]:
    """loadgen and hey at 200 rps against the same server, alternating for ``rounds``."""
    body = payloads.encode_rows("v2", dataset.load().X[:1].tolist()).decode()

    def once(tool: str) -> dict:
        if tool == "hey":
            return hey(f"{url}/v2/models/wine/infer", body, 200, seconds)
        doc = loadgen(url, 200, seconds, work)
        return {"achieved_rps": float(doc["achieved_rps"]), **{k: float(doc["latency_ms"][k]) for k in ("p50", "p90", "p99")}}

    return paired.run_rounds(["loadgen", "hey"], rounds, once)


def main(argv: list[str] | None = None) -> int:
    """Run the load generator benchmarks and print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--seconds", type=int, default=30, help="length of each rate run (default %(default)s)")
    parser.add_argument("--rates", default="50,500,2000")
    parser.add_argument("--ceiling", default="2000,3000,4000,5000,6000,8000")
    parser.add_argument("--tool-rounds", type=int, default=5, help="alternating rounds of loadgen and hey (default 5)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-loadgen-") as tmp:
        work = Path(tmp)
        envoy, target = start_static_envoy(work)
        try:
            print("## rate accuracy (static Envoy server)\n\n| target rps | achieved rps | max error per 10 s window | late sends | max send lag ms |\n|---|---|---|---|---|")
            for rps in (float(r) for r in args.rates.split(",") if r):
                doc = loadgen(target, rps, args.seconds, work)
                errs = window_errors(doc, rps)
                print(f"| {rps:.0f} | {doc['achieved_rps']:.1f} | {max(errs) * 100:.2f}% | {doc['late_sends']} | {doc['max_send_lag_ms']:.1f} |", flush=True)
            print("\n## one core's ceiling (10 s each)\n\n| target rps | achieved rps | max window error | late sends | p99 ms |\n|---|---|---|---|---|")
            for rps in (float(r) for r in args.ceiling.split(",") if r):
                doc = loadgen(target, rps, 10, work)
                errs = window_errors(doc, rps)
                print(f"| {rps:.0f} | {doc['achieved_rps']:.1f} | {max(errs) * 100:.2f}% | {doc['late_sends']} | {doc['latency_ms']['p99']:.2f} |", flush=True)
        finally:
            envoy.stop()
        server, url = start_mlserver(work)
        try:
            runs = beside_hey(url, work, args.seconds, args.tool_rounds)
        finally:
            server.stop()
    print("\n## latency beside hey (MLServer v2 runtime, 200 rps)\n\n| tool | achieved rps | p50 ms | p90 ms | p99 ms |\n|---|---|---|---|---|")
    for tool, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("achieved_rps", "p50", "p90", "p99")}
        print(f"| {tool} | {med['achieved_rps']:.1f} | {med['p50']:.2f} | {med['p90']:.2f} | {med['p99']:.2f} |")
    print(f"\n{paired.HEADER}")
    for pct in ("p50", "p90", "p99"):
        diffs = [h[pct] - o[pct] for o, h in zip(runs["loadgen"], runs["hey"], strict=True)]
        print(paired.row(f"hey minus loadgen, {pct} ms", diffs, "{:+.2f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
