"""What the stack reports: process health, deaths since the last look, and the state file other commands read."""

import os
from typing import TYPE_CHECKING, Any

from canary import statefile
from canary.local import gateway, procs, tracing

if TYPE_CHECKING:  # the stack passes itself: a collaborator, not a base class
    from canary.local.stack import Stack


def deaths(stack: "Stack") -> list[str]:
    """Note processes that died since the last poll; return a line for each."""
    lines: list[str] = []
    with stack.lock:
        for m in stack.procs.values():
            code = m.process.popen.poll()
            if code is not None and m.exit_code is None:
                m.exit_code = code
                lines.append(f"{m.name} (pid {m.process.pid}) exited with code {code}; log: {m.process.log_path}")
    return lines


def status(stack: "Stack") -> dict[str, Any]:
    """Routing, and every process with its pid, port, role and health."""
    with stack.lock:
        items = list(stack.procs.values())
    out: list[dict[str, Any]] = []
    for m in items:
        state = "running" if m.process.popen.poll() is None else f"exited ({m.process.popen.poll()})"
        healthy = state == "running" and procs.answers_ok(m.ready_url, timeout_s=0.5)
        out.append({"name": m.name, "pid": m.process.pid, "port": m.port, "role": m.role, "version": m.version,
                    "revision": m.revision, "state": state, "healthy": healthy, "log": str(m.process.log_path),
                    "admin_url": m.admin_url})
    revisions: dict[str | None, str | None] = {m.version: m.revision for m in items if m.version}
    envoy_up = any(p["name"] == "envoy" and p["state"] == "running" for p in out)
    admin = f"http://127.0.0.1:{stack.settings.envoy_admin_port}"
    return {"gateway": f"http://127.0.0.1:{stack.settings.gateway_port}", "runtime": stack.settings.runtime,
            "model": stack.settings.model,
            "traces": None if stack.tracing_off else tracing.ui_url(stack.settings), "tracing_off": stack.tracing_off,
            "judge": f"http://127.0.0.1:{stack.settings.judge_port}",
            "stable": stack.routing.stable, "canary": stack.routing.canary,
            "stable_revision": revisions.get(stack.routing.stable),
            "canary_revision": revisions.get(stack.routing.canary),
            "canary_weight": stack.routing.canary_weight if stack.routing.canary else 0,
            "header_routes": [h.name for h in stack.routing.header_routes],
            "mirror_routes": [m.name for m in stack.routing.mirror_routes], "processes": out,
            # what Envoy has loaded (canary.local.gateway): the controller's read-back
            "gateway_routes": gateway.loaded(admin) if envoy_up else None}


def write_state(stack: "Stack") -> None:
    """stack.json: how other commands find the supervisor (readable by this user only)."""
    state = {"pid": os.getpid(), "api": f"http://127.0.0.1:{stack.settings.api_port}", "token": stack.api_token,
             "fault_token": stack.fault_token, "pids": {m.name: m.process.pid for m in stack.procs.values()}}
    statefile.write_json(stack.run_dir / "stack.json", state)
