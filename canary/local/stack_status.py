"""What the stack reports: process health, deaths since the last look, and the state file other commands read."""

import os

import httpx

from canary import statefile
from canary.local import gateway


class StatusMixin:
    """Status for ``Stack`` (its processes, routing, settings and lock live there)."""

    def poll(self) -> list[str]:
        """Note processes that died since the last poll; return a line for each."""
        lines = []
        with self._lock:
            for m in self.procs.values():
                code = m.process.popen.poll()
                if code is not None and m.exit_code is None:
                    m.exit_code = code
                    lines.append(f"{m.name} (pid {m.process.pid}) exited with code {code}; log: {m.process.log_path}")
        return lines

    def status(self) -> dict:
        """Routing, and every process with its pid, port, role and health."""
        with self._lock:
            items = list(self.procs.values())
        out = []
        for m in items:
            state = "running" if m.process.popen.poll() is None else f"exited ({m.process.popen.poll()})"
            healthy = False
            if state == "running":
                try:
                    healthy = httpx.get(m.ready_url, timeout=0.5).status_code == 200
                except httpx.HTTPError:
                    pass
            out.append({"name": m.name, "pid": m.process.pid, "port": m.port, "role": m.role, "version": m.version,
                        "revision": m.revision, "state": state, "healthy": healthy, "log": str(m.process.log_path), "admin_url": m.admin_url})
        revisions = {m.version: m.revision for m in items if m.version}
        envoy_up = any(p["name"] == "envoy" and p["state"] == "running" for p in out)
        admin = f"http://127.0.0.1:{self.settings.envoy_admin_port}"
        return {"gateway": f"http://127.0.0.1:{self.settings.gateway_port}", "runtime": self.settings.runtime,
                "judge": f"http://127.0.0.1:{self.settings.judge_port}",
                "stable": self.routing.stable, "canary": self.routing.canary,
                "stable_revision": revisions.get(self.routing.stable),
                "canary_revision": revisions.get(self.routing.canary),
                "canary_weight": self.routing.canary_weight if self.routing.canary else 0,
                "header_routes": [h.name for h in self.routing.header_routes],
                "mirror_routes": [m.name for m in self.routing.mirror_routes], "processes": out,
                # what Envoy has loaded (canary.local.gateway): the controller's read-back
                "gateway_routes": gateway.loaded(admin) if envoy_up else None}

    def write_state(self) -> None:
        """stack.json: how other commands find the supervisor (readable by this user only)."""
        state = {"pid": os.getpid(), "api": f"http://127.0.0.1:{self.settings.api_port}", "token": self.api_token,
                 "fault_token": self.fault_token, "pids": {m.name: m.process.pid for m in self.procs.values()}}
        statefile.write_json(self.run_dir / "stack.json", state)
