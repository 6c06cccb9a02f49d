"""What watching a rollout costs: CPU of the controller, the judge and Prometheus per minute of analysis.

``python -m bench.cost``. A real stack, the real controller (``--scale``, default 1, as
Argo runs the Rollout) and the load generator at 50 rps, as ``bench.rollout`` runs them.
Each process's CPU time (user + system, psutil) is read over windows of ``--seconds``:
with no rollout (the stack and its load alone), in the shadow phase, and in the first
weighted step. CPU seconds per minute: 0.6 s a minute is 1% of one core. "Analysis adds"
is a phase's sum minus the idle window's, the cost of one running rollout.
"""

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from bench.designs import ROOT, trained_work
from bench.rollout import Rig
from canary.local.harness import exit_on_sigterm, wait_for

WATCHERS = ("controller", "judge", "prometheus")
OTHERS = ("envoy", "stack", "runtimes", "loadgen", "jaeger")


def role(proc: psutil.Process) -> str | None:
    """Which part of the stack a process is, from its command line."""
    try:
        cmd = " ".join(proc.cmdline())
    except psutil.Error:
        return None
    for name, marker in (("jaeger", "jaeger --config"), ("controller", "canary controller"), ("judge", "canary.judge"), ("prometheus", "prometheus"),
                         ("envoy", "envoy"), ("stack", "canary up"), ("runtimes", "mlserver"),
                         ("runtimes", "seldon"), ("loadgen", "loadgen")):
        if marker in cmd:
            return name
    return None


def processes(rig: Rig) -> dict[str, list[psutil.Process]]:
    """Every process of the rig by role, children included (MLServer's workers, Envoy under its launcher)."""
    found: dict[str, list[psutil.Process]] = {}
    for _, popen in rig.harness.procs:
        top = psutil.Process(popen.pid)
        for proc in [top, *top.children(recursive=True)]:
            if (name := role(proc)) is not None:
                found.setdefault(name, []).append(proc)
    return found


def cpu_s(procs: dict[str, list[psutil.Process]]) -> dict[str, float]:
    """CPU seconds used so far by each role's processes (a process gone counts nothing more)."""
    out = {}
    for name, members in procs.items():
        total = 0.0
        for proc in members:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        out[name] = total
    return out


def window(rig: Rig, seconds: float, still: Callable[[dict], bool]) -> dict[str, float] | None:
    """CPU seconds per minute of each role over ``seconds``; None if the phase ended before the window did."""
    procs = processes(rig)
    before, t0 = cpu_s(procs), time.monotonic()
    time.sleep(seconds)
    if not still(rig.client.get(events=0)):
        return None
    after, spent = cpu_s(procs), time.monotonic() - t0
    return {name: (after[name] - before[name]) / spent * 60 for name in before}


def in_shadow(doc: dict) -> bool:
    """The shadow phase's analysis is running."""
    return bool(doc["mirror_routes"]) and doc["phase"] == "Progressing"


def in_first_weight(doc: dict) -> bool:
    """The first weighted step's analysis is running."""
    return doc["weight"] == 10 and doc["phase"] == "Progressing" and bool(doc["analysis"])


def measure(work: Path, args: argparse.Namespace) -> dict[str, dict[str, float] | None]:
    """The three windows of one rollout of a healthy v2."""
    rig = Rig(work, ROOT / "k8s", args.scale, "cost", args.feedback_ratio)
    try:
        time.sleep(args.settle)  # the stack's start-up work done
        out = {"no rollout": window(rig, args.seconds, lambda d: True)}
        rig.client.post("/rollout", {"version": "v2"})
        wait_for(rig.client, in_shadow, 120, events=0)
        time.sleep(args.settle)
        out["shadow phase"] = window(rig, args.seconds, in_shadow)
        wait_for(rig.client, in_first_weight, 600, events=0)
        time.sleep(args.settle)
        out["first weighted step"] = window(rig, args.seconds, in_first_weight)
        return out
    finally:
        rig.close()


def report(windows: dict[str, dict[str, float] | None], seconds: float) -> None:
    """A Markdown table: CPU seconds per minute by role and window, and what the analysis adds."""
    idle = windows["no rollout"] or {}
    roles = [r for r in (*WATCHERS, *OTHERS) if any(r in (w or {}) for w in windows.values())]
    print(f"\n| window ({seconds:g} s) | {' | '.join(roles)} | controller + judge + Prometheus | analysis adds |")
    print("|---" * (len(roles) + 3) + "|")
    for name, values in windows.items():
        if values is None:
            print(f"| {name} | {' | '.join('-' for _ in roles)} | phase ended before the window | - |")
            continue
        watch = sum(values.get(r, 0.0) for r in WATCHERS)
        added = watch - sum(idle.get(r, 0.0) for r in WATCHERS)
        print(f"| {name} | {' | '.join(f'{values.get(r, 0.0):.2f}' for r in roles)} | {watch:.2f} | "
              f"{'-' if name == 'no rollout' else f'{added:.2f} ({added / 60:.1%} of a core)'} |")
    print(f"\nCPU seconds per minute; 0.6 is 1% of one core. All roles with no rollout: {sum(idle.values()):.2f}.")


def main(argv: list[str] | None = None) -> int:
    """Measure the windows and print the table."""
    p = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="the controller's time-scale (default 1)")
    p.add_argument("--seconds", type=float, default=40.0, help="length of each window (default 40)")
    p.add_argument("--settle", type=float, default=5.0, help="seconds to wait before each window (default 5)")
    p.add_argument("--feedback-ratio", type=float, default=None, help="the load generator's --feedback-ratio")
    args = p.parse_args(argv)
    if args.seconds <= 0 or args.settle < 0:
        p.error("--seconds must be positive and --settle not negative")
    exit_on_sigterm()
    with trained_work("bench-cost-") as work:
        windows = measure(work, args)
    report(windows, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
