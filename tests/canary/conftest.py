import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from canary import ports
from canary.client import StackClient

ROOT = Path(__file__).resolve().parents[2]


def free_block(size: int) -> int:
    """The first port of ``size`` consecutive free ports; the search starts at a
    pid-dependent place, so two test runs (or a test and a benchmark) pick apart."""
    start = 20000 + (os.getpid() % 400) * 97
    for base in list(range(start, 60000, 97)) + list(range(20000, start, 97)):
        if all(ports.is_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no block of free ports")


def stack_env(run_dir: Path, artifacts: Path, **extra: str) -> dict[str, str]:
    base = free_block(16)
    return {
        "CANARY_RUN_DIR": str(run_dir), "CANARY_ARTIFACTS": str(artifacts), "CANARY_K8S_DIR": str(ROOT / "k8s"),
        "CANARY_GATEWAY_PORT": str(base), "CANARY_ENVOY_ADMIN_PORT": str(base + 1),
        "CANARY_PROMETHEUS_PORT": str(base + 2), "CANARY_API_PORT": str(base + 3),
        "CANARY_LOADGEN_METRICS_PORT": str(base + 4), "CANARY_STABLE_PORT": str(base + 6),
        "CANARY_CANARY_PORT": str(base + 11), "CANARY_SELDON_BIN": str(ROOT / ".venv-seldon/bin/seldon-core-microservice"),
        **extra,
    }


class RunningStack:
    """A real 'canary up' in the background, stopped (and checked for orphans) at the end."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env, self.log = env, log
        self.proc = subprocess.Popen([sys.executable, "-m", "canary", "up"], env={**os.environ, **env},
                                     stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=ROOT)
        self.run_dir = Path(env["CANARY_RUN_DIR"])
        deadline = time.monotonic() + 120
        while "stack ready" not in log.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(f"canary up failed:\n{log.read_text()}")
            time.sleep(0.2)
        self.client = StackClient(self.run_dir)
        self.gateway = f"http://127.0.0.1:{env['CANARY_GATEWAY_PORT']}"
        self.prometheus = f"http://127.0.0.1:{env['CANARY_PROMETHEUS_PORT']}"

    def child_pids(self) -> list[int]:
        return [p["pid"] for p in self.client.status()["processes"]]

    def stop(self, sig=signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(60)

    def query(self, promql: str) -> list[dict]:
        return httpx.get(f"{self.prometheus}/api/v1/query", params={"query": promql}).json()["data"]["result"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/status").read_text().count("State:\tZ")


def loadgen(target: str, *flags: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "loadgen", "--target", target, "--quiet", "--json", str(out), *flags],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def summary(proc: subprocess.Popen, out: Path) -> dict:
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.read_text())
