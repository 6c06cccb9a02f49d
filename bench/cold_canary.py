"""A canary's first seconds: how many of its copies are slow just after its runtime starts, and how many later.

``python -m bench.cold_canary``. One stack serves v1 at 50 rps. Each round starts v2 afresh
(a new runtime process, as a rollout or a retried one starts it), mirrors half the predictions
to it as the shadow phase does, and reads at each runtime's sidecar (what the judge reads) the
share of the canary's copies and of stable's answers over a few bounds: in the first
``--warmup`` seconds after the mirror was set, and in the ``--after`` seconds that follow. Then
the canary is removed. Rounds alternate a quiet machine and one busy with a loop per core.
``--own`` serves docs/your-model.md's material instead (a logistic v1, a gradient-boosting v2).
"""

import argparse
import contextlib
import math
import sys
import time
from collections.abc import Iterator

from bench import owndata
from bench.designs import trained_stack
from bench.rollout import cpu_hogs
from canary import pooled
from canary.local.client import StackClient
from canary.local.harness import Harness, exit_on_sigterm
from canary.polling import wait_until

BOUNDS_MS = (5.0, 10.0, 25.0)
MIRROR = {"name": "mirror-route", "percentage": 50, "match": [{"method": {"exact": "POST"}}]}
Counts = dict[str, dict[float, float]]  # version -> {le: answers at or under it}


def counts_at(harness: Harness, at: float) -> Counts:
    """Each version's latency buckets at its sidecar, as Prometheus held them at ``at``."""
    answer = pooled.client().get(f"{harness.prometheus}/api/v1/query", timeout=10, params={
        "time": f"{at:.3f}", "query": 'sum by (le, version) '
                                      '(envoy_cluster_upstream_rq_time_bucket{reporter="destination"})'})
    out: Counts = {}
    for r in answer.json()["data"]["result"]:
        out.setdefault(r["metric"]["version"], {})[float(r["metric"]["le"])] = float(r["value"][1])
    return out


def sidecars_up(harness: Harness, count: int) -> bool:
    """Whether Prometheus scrapes ``count`` sidecars: the canary's counts are read from its first answer."""
    return len(harness.query('up{job="sidecar"} == 1')) >= count


def shares(before: Counts, after: Counts, version: str) -> tuple[int, list[float]]:
    """(answers, share over each bound) of ``version`` between two readings."""
    if version not in after:
        raise RuntimeError(f"Prometheus holds no latency of {version} at a window's end: its sidecar not scraped")
    diff = {le: n - before.get(version, {}).get(le, 0.0) for le, n in after[version].items()}  # absent: from 0
    total = diff.get(math.inf, 0.0)
    return round(total), [(total - diff.get(b, total)) / total if total else math.nan for b in BOUNDS_MS]


def round_(harness: Harness, stack: StackClient, busy: bool, warmup_s: float,
           after_s: float) -> dict[str, dict[str, tuple]]:
    """One fresh canary: per window, stable's and the canary's shares."""
    hogs = cpu_hogs(warmup_s + after_s + 60) if busy else []
    try:
        stack.add_canary("v2")  # answers once the new runtime is ready, as a pod's readiness gate does
        if not wait_until(lambda: sidecars_up(harness, 2), 30):
            raise RuntimeError("Prometheus does not scrape the canary's sidecar after 30 s")
        stack.set_routing(0, [], [MIRROR])
        t0 = time.time()
        time.sleep(warmup_s + after_s + 3)  # the windows, and the last scrapes of them
    finally:
        for hog in hogs:
            hog.kill()
    stack.set_routing(0)
    stack.remove_canary()
    edges = [counts_at(harness, t) for t in (t0, t0 + warmup_s, t0 + warmup_s + after_s)]
    return {window: {v: shares(a, b, v) for v in ("v1", "v2")}
            for window, a, b in ((f"first {warmup_s:g} s", edges[0], edges[1]),
                                 (f"next {after_s:g} s", edges[1], edges[2]))}


def report(n: int, busy: bool, result: dict[str, dict[str, tuple]]) -> None:
    """Markdown rows: round, machine, window, then each side's answers and shares."""
    for window, sides in result.items():
        cells = [f"{sides[v][0]} | " + " / ".join("-" if math.isnan(s) else f"{s * 100:.1f}%" for s in sides[v][1])
                 for v in ("v1", "v2")]
        print(f"| {n} | {'busy' if busy else 'quiet'} | {window} | " + " | ".join(cells) + " |", flush=True)


@contextlib.contextmanager
def _shipped(prefix: str) -> Iterator[tuple[Harness, StackClient, list[str]]]:
    """The shipped wine model's stack, and no load generator flags."""
    with trained_stack(prefix) as (harness, stack):
        yield harness, stack, []


def main(argv: list[str] | None = None) -> int:
    """Alternate quiet and busy rounds on one stack; print a table."""
    p = argparse.ArgumentParser(prog="python -m bench.cold_canary", description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=2, help="rounds of each kind (default 2)")
    p.add_argument("--warmup", type=float, default=10, help="the first window, seconds (default 10)")
    p.add_argument("--after", type=float, default=30, help="the window after it, seconds (default 30)")
    p.add_argument("--own", action="store_true",
                   help="docs/your-model.md's material (logistic v1, gradient-boosting v2) instead of the shipped wine")
    args = p.parse_args(argv)
    exit_on_sigterm()  # a stopped bench stops its stack
    with (owndata.packaged_stack if args.own else _shipped)("bench-cold-") as (harness, stack, load):
        harness.start_loadgen(50, None, *load)
        harness.wait_traffic(500, 60)  # stable's first answers: its runtime warm
        over = " / ".join(f"{b:g}" for b in BOUNDS_MS)
        print(f"| round | machine | window | stable answers | over {over} ms | canary copies | over {over} ms |")
        print("|---|---|---|---|---|---|---|")
        for n, busy in enumerate([False, True] * args.rounds, 1):
            report(n, busy, round_(harness, stack, busy, args.warmup, args.after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
