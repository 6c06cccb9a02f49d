"""One way to run the whole thing: the stack, the controller and the load generator as real processes.

``make demo``, the benchmarks and the end-to-end tests all start and stop them
here, the way a person does (``canary up``, ``canary controller``,
``python -m loadgen``), and stop them by pid, newest first.
"""

import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from canary import pooled
from canary.local import ports, procs, tracing
from canary.local.client import ControlClient, StackClient
from canary.local.settings import StackSettings
from canary.local.sidecar import SLOT_PORTS
from canary.polling import wait_until

_BLOCKS = itertools.count()  # successive blocks of one process start apart
# The CANARY_* port variables, by offset within a block of free ports.
PORT_OFFSETS = {"GATEWAY": 0, "ENVOY_ADMIN": 1, "PROMETHEUS": 2, "API": 3, "LOADGEN_METRICS": 4, "CONTROL": 5,
                "STABLE": 6, "JUDGE": 6 + SLOT_PORTS, "CANARY": 7 + SLOT_PORTS,  # a runtime's slot: SLOT_PORTS ports
                "TRACING": 7 + 2 * SLOT_PORTS}  # Jaeger's: tracing.PORTS


def free_port_env(seed: int | None = None) -> dict[str, str]:
    """CANARY_*_PORT variables for a block of free ports, so runs side by side do not collide."""
    base = ports.free_block(PORT_OFFSETS["TRACING"] + tracing.PORTS,
                            seed if seed is not None else os.getpid() + next(_BLOCKS))
    return {f"CANARY_{name}_PORT": str(base + offset) for name, offset in PORT_OFFSETS.items()}


class Harness:
    """Real processes for one run directory; ``stop`` ends them all, also after a failed start."""

    def __init__(self, run_dir: Path, env: dict[str, str] | None = None, user: str = "harness"):
        self.run_dir = Path(run_dir).resolve()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, **(env or {}), "CANARY_RUN_DIR": str(self.run_dir)}
        overrides = {k.removeprefix("CANARY_").lower(): v for k, v in self.env.items() if k.startswith("CANARY_")}
        self.settings = StackSettings.model_validate({k: v for k, v in overrides.items()
                                                      if k in StackSettings.model_fields})
        self.control_port = int(self.env.get("CANARY_CONTROL_PORT", 8098))
        self.user = user
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    @property
    def gateway(self) -> str:
        """Where clients and the load generator send requests."""
        return f"http://127.0.0.1:{self.settings.gateway_port}"

    @property
    def prometheus(self) -> str:
        """The stack's Prometheus."""
        return f"http://127.0.0.1:{self.settings.prometheus_port}"

    def _spawn(self, name: str, args: list[str], log: Path | None,
               prefix: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
        out = open(log, "a") if log else None
        proc = subprocess.Popen([*prefix, sys.executable, *args], env=self.env,
                                stdout=subprocess.DEVNULL if out is None else out, stderr=subprocess.STDOUT)
        if out is not None:
            out.close()
        self.procs.append((name, proc))
        return proc

    def _wait(self, name: str, proc: subprocess.Popen[bytes], ready: Callable[[], bool], log: Path,
              timeout_s: float) -> None:
        if not wait_until(ready, timeout_s, alive=lambda: proc.poll() is None):
            state = f"exited with {proc.returncode}" if proc.poll() is not None else f"not ready after {timeout_s:.0f}s"
            raise RuntimeError(f"{name} {state}; log {log}:\n{log.read_text()[-3000:]}")

    def start_stack(self, runtime: str | None = None, timeout_s: float = 180,
                    prefix: tuple[str, ...] = ()) -> StackClient:
        """``canary up`` in the background (``prefix``: e.g. taskset); returns once the stack is ready."""
        self.start("canary up", ["-m", "canary", "up", *(["--runtime", runtime] if runtime else [])], "stack ready",
                   timeout_s, prefix, "up.log")
        return StackClient(self.run_dir)

    def start(self, name: str, args: list[str], ready_text: str, timeout_s: float, prefix: tuple[str, ...] = (),
              log_name: str | None = None) -> subprocess.Popen[bytes]:
        """``python <args>`` in the background, its output in a log; returns once the log says ``ready_text``."""
        log = self.run_dir / (log_name or f"{name.replace(' ', '-')}.log")
        log.write_text("")
        proc = self._spawn(name, args, log, prefix)
        self._wait(name, proc, lambda: ready_text in log.read_text(), log, timeout_s)
        return proc

    def start_controller(self, time_scale: float = 1.0, timeout_s: float = 60, fresh: bool = True) -> ControlClient:
        """``canary controller`` in the background; its client once its API answers.

        ``fresh``: forget the saved rollout (a new stack starts at its stable version);
        False resumes it, as a restarted controller does.
        """
        (self.run_dir / "controller.json").unlink(missing_ok=True)
        if fresh:
            for name in ("controller.db", "controller.db-wal", "controller.db-shm"):
                (self.run_dir / name).unlink(missing_ok=True)
        log = self.run_dir / "controller.log"
        proc = self._spawn("canary controller", ["-m", "canary", "controller", "--time-scale", f"{time_scale:g}"], log)
        self._wait("canary controller", proc, (self.run_dir / "controller.json").exists, log, timeout_s)
        return ControlClient(self.run_dir, user=self.user)

    def start_loadgen(self, rps: float, json_path: Path | None = None, *flags: str) -> subprocess.Popen[bytes]:
        """``python -m loadgen`` at ``rps`` through the gateway; the first one exports its metrics for Prometheus,
        a second one beside it on a free port of its own."""
        running = any(name == "loadgen" and proc.poll() is None for name, proc in self.procs)
        port = procs.free_port() if running else self.settings.loadgen_metrics_port
        args = ["-m", "loadgen", "--target", self.gateway, "--rps", f"{rps:g}", "--quiet",
                "--metrics-port", str(port), *flags]
        return self._spawn("loadgen", args + (["--json", str(json_path)] if json_path else []),
                           self.run_dir / "loadgen.log")

    def served(self) -> int:
        """Requests the gateway has passed to any runtime so far (Envoy's own counter)."""
        return self.envoy_stat(r"^cluster\.[^.]+\.upstream_rq_total$")  # the gateway's clusters are the versions

    def envoy_stat(self, pattern: str) -> int:
        """The sum of the gateway's stats whose names match ``pattern`` (a regex), from Envoy's admin API."""
        stats = pooled.client().get(f"http://127.0.0.1:{self.settings.envoy_admin_port}/stats",
                          params={"filter": pattern}, timeout=5).text
        return sum(int(line.rsplit(":", 1)[1]) for line in stats.splitlines() if ":" in line)

    def wait_traffic(self, requests: int = 20, timeout_s: float = 30) -> None:
        """Wait until the load generator's requests flow through the gateway."""
        if not wait_until(lambda: self.served() >= requests, timeout_s):
            raise RuntimeError(f"no traffic through the gateway after {timeout_s:.0f}s; "
                               f"see {self.run_dir}/loadgen.log")

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query against the stack's Prometheus."""
        answer = pooled.client().get(f"{self.prometheus}/api/v1/query", params={"query": promql}, timeout=10)
        result: list[dict[str, Any]] = answer.json()["data"]["result"]
        return result

    def stop_process(self, name: str, sig: int = signal.SIGINT, timeout_s: float = 60) -> int | None:
        """Stop the newest process called ``name`` by pid; its exit code."""
        for entry in reversed(self.procs):
            if entry[0] == name:
                self.procs.remove(entry)
                return _stop(entry[1], sig, timeout_s)
        return None

    def stop(self) -> None:
        """Stop every process this harness started, newest first."""
        while self.procs:
            _, proc = self.procs.pop()
            _stop(proc, signal.SIGINT, 60)


def exit_on_sigterm() -> None:
    """Make SIGTERM raise SystemExit, so the ``finally`` that stops a harness runs: a killed benchmark or
    demo leaves no stack behind (Python's default for SIGTERM skips every ``finally``)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def wait_for(client: ControlClient, done: Callable[[dict[str, Any]], bool], timeout_s: float,
             events: int = 50) -> dict[str, Any]:
    """Poll the rollout until ``done(doc)``; TimeoutError with the last state otherwise."""
    last: list[dict[str, Any]] = []

    def finished() -> bool:
        last[:] = [client.get(events=events)]
        return done(last[0])

    if not wait_until(finished, timeout_s, 0.2):
        doc = last[0]
        raise TimeoutError(f"still {doc['phase']} at step {doc['step'] + 1} after {timeout_s:.0f}s: "
                           f"{doc['message']}")
    return last[0]


def _stop(proc: subprocess.Popen[bytes], sig: int, timeout_s: float) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode
