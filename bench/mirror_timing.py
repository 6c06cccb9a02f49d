"""Where a mirrored copy is timed: stable's answers and the canary's copies, at the gateway and at each sidecar.

``python -m bench.mirror_timing``. One stack serves v1 and mirrors every prediction to
v2 (the same model's speed) at 50 rps. Each round reads, over its window, the share of
answers slower than each of a few bounds, as the gateway timed them (source side) and
as each runtime's sidecar did (destination side, what the judge reads); rounds alternate
a quiet machine and one busy with a loop per core.
"""

import argparse
import math
import sys
import time

from bench.designs import trained_stack
from bench.rollout import cpu_hogs
from canary.local.harness import Harness, exit_on_sigterm

BOUNDS_MS = (2, 3, 5)
SIDES = {"gateway": 'reporter="source",envoy_cluster_name=~"wine-v[12]"', "sidecar": 'reporter="destination"'}
MIRROR = {"name": "mirror-route", "percentage": 100, "match": [{"method": {"exact": "POST"}}]}


def slow_shares(harness: Harness, selector: str, window_s: float) -> dict[str, tuple[int, list[float]]]:
    """Per version: (answers, share slower than each bound) over the last ``window_s`` seconds."""
    rows = harness.query(f"sum by (le, envoy_cluster_name, version) (increase("
                         f"envoy_cluster_upstream_rq_time_bucket{{{selector}}}[{window_s:.0f}s]))")
    buckets: dict[str, dict[float, float]] = {}
    for r in rows:
        version = r["metric"].get("version") or r["metric"]["envoy_cluster_name"].removeprefix("wine-")
        buckets.setdefault(version, {})[float(r["metric"]["le"])] = float(r["value"][1])
    return {v: (round(b[math.inf]), [1 - b.get(le, 0) / b[math.inf] for le in BOUNDS_MS])
            for v, b in sorted(buckets.items()) if b.get(math.inf)}


def round_(harness: Harness, busy: bool, seconds: float) -> dict:
    """One window of ``seconds``, the machine busy or not: both sides' shares."""
    hogs = cpu_hogs(seconds + 10) if busy else []
    try:
        time.sleep(seconds + 5)  # the window, and the last scrapes of it
        return {side: slow_shares(harness, sel, seconds) for side, sel in SIDES.items()}
    finally:
        for hog in hogs:
            hog.kill()


def report(busy: bool, shares: dict) -> None:
    """Markdown rows: machine, side, version, answers, share over each bound."""
    for side, by_version in shares.items():
        for version, (n, over) in by_version.items():
            role = "stable's answers" if version == "v1" else "the canary's copies"
            cells = " | ".join(f"{s * 100:.1f}%" for s in over)
            print(f"| {'busy' if busy else 'quiet'} | {side} | {role} | {n} | {cells} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Alternate quiet and busy rounds on one stack; print a table."""
    p = argparse.ArgumentParser(prog="python -m bench.mirror_timing", description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=2, help="rounds of each kind (default 2)")
    p.add_argument("--seconds", type=float, default=60, help="window of each round (default 60)")
    args = p.parse_args(argv)
    exit_on_sigterm()  # a stopped bench stops its stack
    with trained_stack("bench-mirror-") as (harness, stack):
        stack.add_canary("v2")
        stack.set_routing(0, [], [MIRROR])
        harness.start_loadgen(50)
        harness.wait_traffic()
        print("| machine | timed at | answers | n | " + " | ".join(f"over {b} ms" for b in BOUNDS_MS) + " |")
        print("|---|---|---|---|" + "---|" * len(BOUNDS_MS))
        for busy in [False, True] * args.rounds:
            report(busy, round_(harness, busy, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
