"""False aborts of a person's heavier v2 when the machine fills as its rollout starts, with the judge's slow bound
following stable's recent tail (JUDGE_LATENCY_RECENT_S) and kept fixed, in alternating rounds.

``python -m bench.busy_tail``. docs/your-model.md's material (a logistic v1, a gradient-boosting v2 that
spends a fraction of a millisecond more CPU a request), served as ``canary up --model cancer`` does, the
controller at ``--time-scale 4`` as docs/local.md runs it, 50 rps replayed from the hold-out file. Stable
serves alone on a quiet machine first, so its history fixes the bound; then busy loops (``--hogs``, each
bounded in time) start with the rollout of the healthy v2, as other work does on a shared machine.
"""

import argparse
import subprocess
import sys
import threading
from pathlib import Path

from bench import owndata
from bench.designs import trained_work
from bench.rollout import ENDED, cpu_hogs
from canary.local.harness import Harness, exit_on_sigterm, free_port_env, wait_for
from canary.polling import wait_until

SETTINGS = {"recent tail (default)": "60", "fixed bound": "0"}  # JUDGE_LATENCY_RECENT_S


class Neighbours:
    """``count`` stacks of the shipped model with 50 rps each, starting in the background; ``stop`` waits for
    each start to end first, so none is started after it (and left running)."""

    def __init__(self, work: Path, name: str, count: int) -> None:
        env = {"CANARY_ARTIFACTS": str(work / "artifacts")}  # the ones bench.designs.trained_work trained
        self.stacks = [Harness(work / f"{name}-neighbour-{i}", {**free_port_env(), **env}, user="bench")
                       for i in range(count)]
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._start, args=(h,), daemon=True) for h in self.stacks]
        for t in self.threads:
            t.start()

    def _start(self, h: Harness) -> None:
        try:
            h.start_stack()
            h.start_loadgen(50, h.run_dir / "lg.json")
        except Exception as exc:  # noqa: BLE001 - reported with the round's result, never silently
            self.errors.append(f"{h.run_dir.name}: {exc}")

    def stop(self) -> None:
        """Wait for the starts, then stop every stack."""
        for t in self.threads:
            t.join(240)
        for h in self.stacks:
            h.stop()


def one_rollout(work: Path, material: owndata.Material, recent_s: str, args: argparse.Namespace, name: str) -> str:
    """A fresh stack, ``--quiet-s`` of stable alone, then the busy machine and the rollout; how it ended."""
    env = {**free_port_env(), "JUDGE_LATENCY_RECENT_S": recent_s}
    harness = Harness(work / name, env, user="bench")
    busy: list[subprocess.Popen[bytes]] = []
    others = Neighbours(work, name, 0)
    try:
        harness.start("canary up", ["-m", "canary", "up", "--model", owndata.NAME, "--artifacts",
                                    str(work / "cancer" / "artifacts")], "stack ready", 180, log_name="up.log")
        harness.start_loadgen(50, work / f"{name}-lg.json", "--model", owndata.NAME, "--data", str(material.holdout),
                              "--label-column", owndata.LABEL, "--order", "shuffle")
        client = harness.start_controller(args.scale)
        harness.wait_traffic()
        if not wait_until(lambda: harness.served() >= 50 * args.quiet_s, args.quiet_s * 3):
            raise RuntimeError(f"stable did not serve {args.quiet_s:g} s of traffic; see {harness.run_dir}")
        busy = cpu_hogs(900, args.hogs)
        others = Neighbours(work, name, args.neighbours)
        client.post("/rollout", {"version": "v2"})
        doc = wait_for(client, lambda d: d["phase"] in ENDED, 900, events=0)
        end = "promoted" if doc["phase"] == "Healthy" else f"aborted: {doc['message']}"
        return end + (f" (neighbours that did not start: {'; '.join(others.errors)})" if others.errors else "")
    finally:
        for hog in busy:
            hog.kill()
            hog.wait()
        others.stop()
        harness.stop()


def main(argv: list[str] | None = None) -> int:
    """Alternating rounds of both settings; each rollout's end, then the counts."""
    p = argparse.ArgumentParser(prog="python -m bench.busy_tail", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=4, help="rounds, each one rollout per setting (default %(default)s)")
    p.add_argument("--hogs", type=int, default=3, help="busy loops from the rollout's start (default %(default)s)")
    p.add_argument("--neighbours", type=int, default=0,
                   help="other stacks with 50 rps each, started with the rollout (default %(default)s)")
    p.add_argument("--quiet-s", type=float, default=40.0, help="stable alone first, seconds (default %(default)s)")
    p.add_argument("--scale", type=float, default=4.0, help="the controller's time-scale (default %(default)s)")
    args = p.parse_args(argv)
    exit_on_sigterm()
    aborted = dict.fromkeys(SETTINGS, 0)
    with trained_work("bench-busy-tail-") as work:
        material = owndata.write(work / "cancer")
        owndata.package(material, work / "cancer" / "artifacts")
        for r in range(args.rounds):
            order = list(SETTINGS) if r % 2 == 0 else list(reversed(SETTINGS))  # alternating: ABBA
            for label in order:
                end = one_rollout(work, material, SETTINGS[label], args, f"r{r}-{SETTINGS[label]}")
                aborted[label] += end != "promoted"
                print(f"round {r + 1}/{args.rounds}, {label}: {end}", flush=True)
    print(f"\n| judge's slow bound | healthy v2 aborted, {args.hogs} busy loops and {args.neighbours} neighbour "
          "stacks from the rollout's start |")
    print("|---|---|")
    for label, n in aborted.items():
        print(f"| {label} | {n} of {args.rounds} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
