"""The local stack: time from 'canary up' to all-ready, and the latency Envoy adds.

``python -m bench.stack``. The stack is pinned to CPU 0, the load generator to
CPU 1. Latency: 200 rps straight to the stable runtime and through the gateway (and its sidecar),
alternating for several rounds, the same run.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.loadgen import loadgen, pinned
from canary.local.harness import Harness, free_port_env
from models import train


def start(work: Path, name: str) -> tuple[Harness, float]:
    """A stack pinned to CPU 0; the seconds from 'canary up' to 'stack ready'."""
    harness = Harness(work / name, {**free_port_env(), "CANARY_ARTIFACTS": str(work / "artifacts")}, user="bench")
    t0 = time.monotonic()
    harness.start_stack(prefix=tuple(pinned("0", [])))
    return harness, time.monotonic() - t0


def time_to_ready(work: Path, starts: int) -> list[float]:
    """Seconds from 'canary up' to ready, for each of ``starts`` fresh stacks."""
    ready = []
    for i in range(starts):
        harness, seconds = start(work, f"run{i}")
        ready.append(seconds)
        harness.stop()
    return ready


def main(argv: list[str] | None = None) -> int:
    """Time to ready over several starts, then latency direct and through the gateway, alternating."""
    parser = argparse.ArgumentParser(prog="python -m bench.stack", description=__doc__)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args(argv)
    if not shutil.which("prometheus"):
        raise SystemExit("prometheus is missing: make tools")
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        work = Path(tmp)
        for version in ("v1", "v2"):
            train.train(version, work / "artifacts")
        ready = time_to_ready(work, args.starts)
        print(f"## time to ready\n\n'canary up' to 'stack ready', {args.starts} starts: "
              f"{', '.join(f'{s:.2f}' for s in ready)} s (median {statistics.median(ready):.2f} s)")
        harness, _ = start(work, "run")
        try:
            gateway, direct = harness.gateway, f"http://127.0.0.1:{harness.settings.stable_port}"
            loadgen(gateway, 200, 5, work)  # warm-up
            runs = {"direct": [], "gateway": []}
            for _ in range(args.rounds):
                for name, target in (("direct", direct), ("gateway", gateway)):
                    runs[name].append(loadgen(target, 200, args.seconds, work))
        finally:
            harness.stop()
    med = {name: {p: statistics.median(r["latency_ms"][p] for r in rs) for p in ("p50", "p90", "p99")}
           for name, rs in runs.items()}
    print(f"\n## latency at 200 rps, median of {args.rounds} rounds of {args.seconds} s\n")
    print("| path | p50 ms | p90 ms | p99 ms | errors |\n|---|---|---|---|---|")
    for name, rs in runs.items():
        errors = sum(r["requests"] - round(r["success_ratio"] * r["requests"]) for r in rs)
        print(f"| {name} | {med[name]['p50']:.3f} | {med[name]['p90']:.3f} | {med[name]['p99']:.3f} | {errors} |")
    print(f"\nadded by the gateway and the sidecar: p50 {med['gateway']['p50'] - med['direct']['p50']:+.3f} ms, "
          f"p99 {med['gateway']['p99'] - med['direct']['p99']:+.3f} ms")
    print(json.dumps({"ready_s": ready, "runs": {k: [r["latency_ms"] for r in v] for k, v in runs.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
