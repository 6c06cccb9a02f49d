"""``make demo``: a real canary rollout that promotes, then two faulty ones that are rolled back automatically.

Starts the stack (Prometheus, Envoy, MLServer), the controller (time-scaled) and
the load generator at 50 rps through the harness; rolls v1 -> v2 through every
step; then, on a fresh stack, rolls out a v2 with FAULT_ERROR_RATIO and watches
the abort; then a v2 that answers every request HTTP 200 but 30% of them wrongly,
with the load generator sending back the truth of half the answers: the judge's
quality test catches it. Exits 0 only if the healthy rollout promoted and both
faulty ones aborted with traffic back on v1.
"""

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from canary.local.client import StackClient
from canary.local.harness import Harness, exit_on_sigterm, wait_for
from canary.local.settings import ControllerSettings
from canary.rollout.durations import format_s

_ROW = [13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]


def step_table(history: list[dict[str, Any]], harness: Harness) -> list[str]:
    """Per analysis step: weight, verdicts, requests and 5xx per version, from Envoy's counters."""
    rows = []
    for before, entry in itertools.pairwise(history):
        if entry["kind"] != "analysis":
            continue
        window = max(entry["at"] - before["at"], 1.0)
        counts: dict[str, list[int]] = {}
        for r in harness.query(f'sum by (version, envoy_response_code_class) (increase('
                               f'envoy_cluster_upstream_rq_xx{{revision!=""}}[{window:.0f}s] @ {entry["at"]:.3f}))'):
            totals = counts.setdefault(r["metric"]["version"], [0, 0])
            n = round(float(r["value"][1]))
            totals[0] += n
            totals[1] += n if r["metric"]["envoy_response_code_class"] == "5" else 0
        traffic = ", ".join(f"{v}: {t} requests, {e} 5xx" for v, (t, e) in sorted(counts.items()))
        verdicts = ", ".join(f"{k} {v}" for k, v in entry.get("verdicts", {}).items())
        where = "shadow, v2 answering copies" if entry["weight"] == 0 else f"at weight {entry['weight']:>3}"
        rows.append(f"  step {entry['step']} analysis {where}: {verdicts} | {traffic}")
    return rows


def _answered_by(harness: Harness, runtime: str, n: int = 50) -> list[str | None]:
    """Which version answered each of ``n`` requests through the gateway (the x-model-version header)."""
    body: dict[str, object]
    if runtime == "seldon":
        path, body = "/api/v1.0/predictions", {"data": {"ndarray": [_ROW]}}
    else:
        path, body = "/v2/models/wine/infer", {"inputs": [{"name": "x", "shape": [1, 13], "datatype": "FP64",
                                                           "data": _ROW}]}
    return [httpx.post(f"{harness.gateway}{path}", json=body, timeout=5).headers.get("x-model-version")
            for _ in range(n)]


def _act(args: argparse.Namespace, harness: Harness, faults: dict[str, float], lg_json: Path,
         *flags: str) -> tuple[dict[str, Any], list[str]]:
    """A fresh stack, controller and load, one rollout to its end; the final state and the step table."""
    harness.start_stack(args.runtime)
    client = harness.start_controller(args.time_scale)
    print(f"dashboard: {client.state['api']}/ (watch live; to steer, in another terminal: "
          f"CANARY_RUN_DIR={harness.run_dir} canary dashboard --open)", flush=True)
    status = StackClient(harness.run_dir).status()
    print(f"traces: {status['traces']} (Jaeger; each version's slowest requests are on the dashboard)"
          if status["traces"] else status["tracing_off"], flush=True)
    harness.start_loadgen(args.rps, lg_json, *(["--protocol", "seldon"] if args.runtime == "seldon" else []), *flags)
    harness.wait_traffic()
    client.post("/rollout", {"version": "v2", "faults": faults})
    done = wait_for(client, lambda d: d["phase"] in ("Healthy", "Degraded"), 60 + 600 / args.time_scale)
    return done, step_table(done["history"], harness)


def _loadgen_lines(run_dir: Path) -> list[str]:
    lines = []
    for n in (1, 2, 3):
        path = run_dir / f"loadgen-{n}.json"
        if path.exists():
            lg = json.loads(path.read_text())
            per = ", ".join(f"{v}: {d['requests']} requests, success {d['success_ratio']:.4f}, "
                            f"accuracy {d['accuracy'] if d.get('accuracy') is None else round(d['accuracy'], 4)}"
                            for v, d in lg["by_version"].items())
            lines.append(f"load generator, part {n}: {lg['requests']} requests at {lg['achieved_rps']:.1f} rps, "
                         f"late sends {lg['late_sends']} ({per})")
    return lines


ACTS: tuple[tuple[str, str, dict[str, float], tuple[str, ...]], ...] = (
    ("healthy", "roll out v2 on {runtime} (shadow -> analysis -> 10% -> analysis -> 50% -> analysis -> 100%, "
                "time-scale {scale}) under {rps} rps", {}, ()),
    ("faulty", "a fresh stack; roll out a v2 that fails 30% of its requests", {"error_ratio": 0.3}, ()),
    ("wrong", "a fresh stack; roll out a v2 that answers every request HTTP 200, 30% of them wrongly "
              "(the load generator sends back the truth of half the answers)",
     {"wrong_ratio": 0.3}, ("--feedback-ratio", "0.5")),
)


def run(args: argparse.Namespace) -> int:
    """The three acts and the summary; 0 only if v2 promoted and both faulty v2s aborted with traffic back on v1."""
    started, run_dir = time.monotonic(), Path(args.run_dir).resolve()
    results: list[tuple[dict[str, Any], list[str], list[str | None]]] = []
    for n, (name, title, faults, flags) in enumerate(ACTS, 1):
        # A fresh stack per act gives each v2 a clean history in Prometheus.
        print(("\n" if n > 1 else "") + f"== {n}. " + title.format(runtime=args.runtime, scale=f"{args.time_scale:g}",
                                                                 rps=f"{args.rps:g}")
              + (f"; logs in {run_dir}" if n == 1 else ""), flush=True)
        harness = Harness(run_dir / name, user="make-demo")
        try:
            done, rows = _act(args, harness, faults, run_dir / f"loadgen-{n}.json", *flags)
            results.append((done, rows, _answered_by(harness, args.runtime) if faults else []))
        finally:
            harness.stop()
    ok = _summary(results, run_dir)
    print(f"\ndemo {'passed' if ok else 'FAILED'} in {format_s(time.monotonic() - started)}"
          + (": a rollout promoted and two faulty ones rolled back" if ok else ""))
    return 0 if ok else 1


def _aborted(label: str, doc: dict[str, Any], rows: list[str], answered: list[str | None]) -> bool:
    """Print one faulty act: which analysis caught it, on what evidence, how fast; True when it was rolled back."""
    aborted = doc["phase"] == "Degraded" and "RolloutAborted" in doc["message"]
    print(f"{label}: {'ABORTED automatically' if aborted else 'NOT ABORTED'}: {doc['message']}")
    first = {e.get("kind"): e["at"] for e in reversed(doc["history"])}  # each kind's first entry
    verdict_at = next((e["at"] for e in reversed(doc["history"]) if e.get("verdicts")), None)
    if verdict_at and "setWeight" in first:
        print(f"  aborted {verdict_at - first['setWeight']:.1f}s after the canary got 10% of traffic")
    elif verdict_at and "setMirrorRoute" in first:
        print(f"  aborted in the shadow phase, {verdict_at - first['setMirrorRoute']:.1f}s after the copies began: "
              "no user request reached v2")
    print("\n".join(rows + [f"after the abort: {answered.count('v1')}/50 requests through the gateway answered by v1"]))
    return aborted and answered.count("v1") == 50


def _summary(results: list[tuple[dict[str, Any], list[str], list[str | None]]], run_dir: Path) -> bool:
    """Print what happened in every act; True when each went as it must."""
    (healthy, healthy_rows, _), faulty, wrong = results
    promoted = healthy["phase"] == "Healthy" and healthy["stable"] == "v2"
    print("\n== summary", flush=True)
    print(f"healthy v2: {'PROMOTED' if promoted else 'NOT PROMOTED: ' + healthy['message']}")
    print("\n".join(healthy_rows))
    caught_errors = _aborted("faulty v2 (30% errors)", *faulty)
    caught_wrong = _aborted("silently wrong v2 (30% wrong answers, all HTTP 200)", *wrong)
    print("\n".join(_loadgen_lines(run_dir)))
    return promoted and caught_errors and caught_wrong


def main(argv: list[str] | None = None) -> int:
    """``python -m canary.cli.demo``: flags, then both acts."""
    p = argparse.ArgumentParser(prog="python -m canary.cli.demo", description=__doc__.splitlines()[0])
    p.add_argument("--time-scale", type=float, default=4.0,
                   help="default %(default)s: each 3-minute analysis takes 45 s")
    p.add_argument("--rps", type=float, default=50.0, help="load through the gateway (default %(default)s)")
    p.add_argument("--run-dir", default="run/demo", help="logs and state (default %(default)s)")
    p.add_argument("--runtime", choices=("mlserver", "seldon"), default="mlserver",
                   help="the runtime serving both versions (default %(default)s)")
    args = p.parse_args(argv)
    exit_on_sigterm()
    ControllerSettings()  # refuse bad CANARY_* variables before starting anything
    try:
        return run(args)
    except (RuntimeError, TimeoutError, OSError) as exc:
        print(f"demo FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
