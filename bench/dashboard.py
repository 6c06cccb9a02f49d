"""The dashboard's figures: how soon an open page shows a change, and what open pages cost the stack.

``python -m bench.dashboard``. A real stack, controller (time-scale 1) and 50 rps; a rollout to
v2 in progress. Latency: changes through the control API (pause and resume, alternating), each
timed from just before the POST to the moment the page redraws the new phase (a MutationObserver
in the page stamps Date.now(), the same machine's clock). Cost, once the rollout is aborted and its
canary scaled down (so the controller's own analysis calls do not drown the pages' share), the
load still flowing: CPU seconds per second of the controller, which serves the page, its reads and
the proxies, and of Prometheus, which answers the charts' queries, in windows with 0 and with 3
pages open, alternating rounds in the same run.
"""

import argparse
import json
import statistics
import sys
import time

import psutil

from bench.designs import trained_work
from canary.dashboard.browser import chromium, phase
from canary.local.client import StackClient
from canary.local.harness import Harness, exit_on_sigterm, free_port_env, wait_for

WATCH = """
window.mlcanaryChanged = null;
const want = arguments[0];
new MutationObserver(() => {
  if (document.body.dataset.phase === want && window.mlcanaryChanged === null) window.mlcanaryChanged = Date.now();
}).observe(document.body, {attributes: true, attributeFilter: ["data-phase"]});
"""


def _wait(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.01)
    return value


def latencies(harness: Harness, driver, changes: int) -> list[float]:
    """Seconds from a control's POST to the page showing its phase, for ``changes`` changes."""
    out = []
    for i in range(changes):
        action, want = ("/pause", "Paused") if i % 2 == 0 else ("/resume", "Progressing")
        driver.execute_script(WATCH, want)
        sent = time.time()
        harness.client.post(action)
        changed = _wait(lambda: driver.execute_script("return window.mlcanaryChanged"), 10, f"the page to show {want}")
        out.append(changed / 1000 - sent)
        time.sleep(0.3)  # a fresh start within the page's one-second cycle, not a wait on a condition
    return out


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User+system CPU seconds so far of each named process."""
    return {name: sum(psutil.Process(pid).cpu_times()[:2]) for name, pid in pids.items()}


def cost(drivers: list, url: str, pids: dict[str, int], rounds: int, seconds: float) -> dict[int, list[dict]]:
    """CPU per second of each process, in windows with 0 and len(drivers) pages open, alternating."""
    out: dict[int, list[dict]] = {0: [], len(drivers): []}
    for _ in range(rounds):
        for pages in out:
            for d in drivers:
                d.get(url if pages else "about:blank")
            if pages:
                for d in drivers:
                    _wait(lambda: phase(d), 20, "the page to draw")
            time.sleep(3)  # the pages' first loads and their charts' first queries settle out of the window
            before, t0 = cpu_seconds(pids), time.monotonic()
            time.sleep(seconds)
            after, dt = cpu_seconds(pids), time.monotonic() - t0
            out[pages].append({name: (after[name] - before[name]) / dt for name in pids})
    return out


def report(lat: list[float], costs: dict[int, list[dict]], seconds: float) -> None:
    """The figures as docs/benchmarks.md shows them."""
    ordered = sorted(lat)
    print(f"## state change to page\n\n{len(lat)} changes (pause/resume): median {statistics.median(lat):.2f} s, "
          f"p90 {ordered[int(0.9 * (len(lat) - 1))]:.2f} s, max {max(lat):.2f} s")
    print(f"\n## cost of open pages ({len(costs[0])} rounds of {seconds:g} s each, alternating)\n")
    print("| process | CPU, 0 pages | CPU, 3 pages | difference |\n|---|---|---|---|")
    for name in costs[0][0]:
        idle = statistics.median(r[name] for r in costs[0])
        busy = statistics.median(r[name] for r in costs[max(costs)])
        print(f"| {name} | {100 * idle:.1f}% | {100 * busy:.1f}% | {100 * (busy - idle):+.1f} points |")
    print("\nraw: " + json.dumps(costs))


def main(argv: list[str] | None = None) -> int:
    """Start everything, measure, stop everything."""
    p = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__.splitlines()[0])
    p.add_argument("--changes", type=int, default=20, help="state changes timed (default %(default)s)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of each condition (default %(default)s)")
    p.add_argument("--seconds", type=float, default=20, help="seconds per cost window (default %(default)s)")
    p.add_argument("--pages", type=int, default=3, help="pages open in the busy windows (default %(default)s)")
    args = p.parse_args(argv)
    exit_on_sigterm()
    with trained_work("bench-dashboard-") as work:
        harness = Harness(work / "run", {**free_port_env(), "CANARY_ARTIFACTS": str(work / "artifacts")}, user="bench")
        drivers = []
        try:
            harness.start_stack()
            harness.client = harness.start_controller(1.0)
            harness.start_loadgen(50, None, "--duration", "3600s")
            harness.wait_traffic()
            harness.client.post("/rollout", {"version": "v2"})
            wait_for(harness.client, lambda d: d["weight"] > 0 or d["mirror_routes"], 60)
            url = harness.client.state["api"] + "/"
            drivers = [chromium(1600, 2200) for _ in range(args.pages)]
            drivers[0].get(url)
            _wait(lambda: phase(drivers[0]), 20, "the page to draw")
            lat = latencies(harness, drivers[0], args.changes)
            harness.client.post("/abort")
            _wait(lambda: not any(p["version"] == "v2" for p in StackClient(harness.run_dir).status()["processes"]),
                  120, "the aborted canary to be scaled down")
            processes = StackClient(harness.run_dir).status()["processes"]
            pids = {"controller": harness.client.state["pid"],
                    "prometheus": next(p["pid"] for p in processes if p["name"] == "prometheus")}
            report(lat, cost(drivers, url, pids, args.rounds, args.seconds), args.seconds)
        finally:
            for d in drivers:
                d.quit()
            harness.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
