"""``make demo ENGINE=argo``: the three acts of ``make demo``, decided by the real Argo Rollouts controller.

Each act gets a fresh control plane (``python -m cluster up --serve-pods``), ``make deploy``, the data
plane (real runtimes, Envoy, Prometheus and the judge behind the pods) and the load generator at
50 rps; then ``make rollout-v2`` (with FAULTS for the faulty acts) and Argo alone decides. Argo's
analysis runs in real time: about ten minutes in all.
"""

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from canary.local.harness import Harness, exit_on_sigterm
from canary.rollout.durations import format_s
from cluster import controlplane
from cluster.settings import ClusterSettings

ROOT = Path(__file__).resolve().parents[1]
ACTS = (
    ("healthy", "roll out v2 (shadow -> analysis -> 10% -> analysis -> 50% -> analysis -> 100%)", ""),
    ("faulty", "a fresh control plane; roll out a v2 that fails 30% of its requests", "FAULT_ERROR_RATIO=0.3"),
    ("wrong", "a fresh control plane; roll out a v2 that answers 30% of its requests wrongly, all HTTP 200",
     "FAULT_WRONG_RATIO=0.3"),
)


def _make(env: Mapping[str, str], *args: str) -> None:
    done = subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise RuntimeError(f"make {' '.join(args)}: {last}")


def _get(settings: ClusterSettings, kind: str) -> dict[str, Any]:
    text = controlplane.kubectl(settings, "-n", "ml-canary", "get", kind, "wine", "-o", "json")
    found: dict[str, Any] = json.loads(text)  # a Kubernetes object
    return found


def _rollout(settings: ClusterSettings) -> dict[str, Any]:
    return _get(settings, "rollout")


def _step(rollout: dict[str, Any], index: int) -> str:
    steps = rollout["spec"]["strategy"]["canary"]["steps"]
    if index >= len(steps):
        return f"step {index}/{len(steps)}: done"
    (kind, value), = steps[index].items()
    detail = value if kind == "setWeight" else ", ".join(t["templateName"] for t in value.get("templates", [])) \
        if kind == "analysis" else value.get("name", value.get("weight", ""))
    return f"step {index + 1}/{len(steps)}: {kind} {detail}".rstrip()


def watch(settings: ClusterSettings, harness: Harness, before: str, timeout_s: float) -> dict[str, Any]:
    """Print each step Argo reaches until the new revision is stable or aborted; the Rollout's last status."""
    deadline, said = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        dead = [name for name, proc in harness.procs if proc.poll() is not None]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} exited; logs in {harness.run_dir}")
        rollout = _rollout(settings)
        status: dict[str, Any] = rollout.get("status", {})
        if status.get("currentPodHash") != before:
            if status.get("abort") or (status.get("phase") == "Healthy"
                                       and status.get("stableRS") == status["currentPodHash"]):
                return status
            line = _step(rollout, status.get("currentStepIndex", 0))
            if line != said:
                print(f"  {line}", flush=True)
                said = line
        time.sleep(1)
    raise TimeoutError(f"Argo had not finished the rollout after {timeout_s:.0f} s")


def act(run_dir: Path, faults: str, rps: float, runtime: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """One act on a fresh control plane; Argo's final status and the load generator's answers by version."""
    settings = ClusterSettings(run_dir=run_dir / "cluster", serve_pods=True)
    controlplane.up(settings, log=lambda line: None)
    env = {"CLUSTER_RUN_DIR": str(settings.run_dir.resolve()), "CANARY_RUNTIME": runtime, **controlplane.env(settings)}
    harness = Harness(run_dir / "stack", env)
    try:
        _make(harness.env, "deploy", "REGISTRY=none", f"OVERLAY={runtime}")
        # Steady: v1 at the autoscaler's replicas, which it sets a minute or so after the deploy.
        harness.start("data plane", ["-m", "cluster", "dataplane"], "ready for make rollout-v2", timeout_s=300)
        (run_dir / "loadgen.json").unlink(missing_ok=True)  # an earlier demo's
        harness.start_loadgen(rps, run_dir / "loadgen.json", "--feedback-ratio", "0.5",
                              *(["--protocol", "seldon"] if runtime == "seldon" else []))
        harness.wait_traffic()
        before = _rollout(settings)["status"]["currentPodHash"]
        _make(harness.env, "rollout-v2", f"FAULTS={faults}")
        status = watch(settings, harness, before, 1200)
        if harness.stop_process("loadgen") != 0:
            raise RuntimeError(f"the load generator failed; log {harness.run_dir / 'loadgen.log'}")
        users: dict[str, Any] = json.loads((run_dir / "loadgen.json").read_text())["by_version"]  # version -> answers
        return status, users
    finally:
        harness.stop()
        controlplane.down(settings)


def _outcome(name: str, status: dict[str, Any], users: dict[str, Any]) -> bool:
    served = ", ".join(f"{v}: {u['requests']} requests, success {u['success_ratio']:.4f}" for v, u in users.items())
    if name == "healthy":
        ok = status.get("phase") == "Healthy" and not status.get("abort")
        print(f"healthy v2: {'PROMOTED by Argo' if ok else 'NOT PROMOTED: ' + status.get('message', '')} | {served}")
        return ok
    ok = bool(status.get("abort")) and set(users) == {"v1"}
    verdict = "ABORTED by Argo" if status.get("abort") else "NOT ABORTED"
    print(f"{name} v2: {verdict}: {status.get('message')} | {served}")
    return ok


def main(argv: list[str] | None = None) -> int:
    """The acts, then a summary; 0 only if Argo promoted the healthy v2 and aborted both faulty ones unseen."""
    p = argparse.ArgumentParser(prog="python -m cluster.demo", description=__doc__.splitlines()[0])
    p.add_argument("--rps", type=float, default=50.0, help="load through the gateway (default %(default)s)")
    p.add_argument("--run-dir", default="run/argo-demo", help="logs of every act (default %(default)s)")
    p.add_argument("--runtime", choices=("mlserver", "seldon"), default="mlserver", help="default %(default)s")
    args = p.parse_args(argv)
    exit_on_sigterm()
    started, results = time.monotonic(), []
    try:
        for n, (name, title, faults) in enumerate(ACTS, 1):
            print(f"{chr(10) if n > 1 else ''}== {n}. {title}; logs in {Path(args.run_dir, name)}", flush=True)
            results.append((name, *act(Path(args.run_dir).resolve() / name, faults, args.rps, args.runtime)))
    except (RuntimeError, TimeoutError, OSError, ValueError, KeyError, controlplane.ClusterError) as exc:
        print(f"demo FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print("\n== summary")
    ok = all([_outcome(*r) for r in results])  # noqa: C419 - every outcome is printed, not only up to a failure
    print(f"\ndemo {'passed' if ok else 'FAILED'} in {format_s(time.monotonic() - started)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
