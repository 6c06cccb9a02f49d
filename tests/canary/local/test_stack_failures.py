"""Clear failures: each names the process, the cause and the fix, and leaves nothing behind."""

import os
import socket
import subprocess
import sys

import pytest

from tests.canary.conftest import ROOT

pytestmark = pytest.mark.integration


def up(env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "canary", "up"], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def leftovers(run_dir) -> list[str]:
    """Processes whose command line names this run directory."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(run_dir) in cmdline and int(pid) != os.getpid():
            found.append(cmdline)
    return found


def test_port_in_use_names_the_port_the_holder_and_the_variable(stack_env, tmp_path):
    env = {**stack_env, "CANARY_RUN_DIR": str(tmp_path / "run")}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", int(env["CANARY_GATEWAY_PORT"])))
        holder.listen()
        out = up(env)
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert f"port {env['CANARY_GATEWAY_PORT']} (gateway) is in use by pid {os.getpid()}" in out.stderr
    assert "set CANARY_GATEWAY_PORT" in out.stderr
    assert not leftovers(tmp_path / "run")


def test_missing_binary_says_how_to_get_it(stack_env, tmp_path):
    out = up({**stack_env, "CANARY_RUN_DIR": str(tmp_path / "run"), "CANARY_PROMETHEUS_BIN": "/nonexistent/prometheus"})
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "prometheus: '/nonexistent/prometheus' not found; run 'make tools'" in out.stderr


def test_a_runtime_that_cannot_load_its_model_stops_the_start(artifact_root, stack_env, tmp_path):
    broken = tmp_path / "artifacts"
    for version in ("v1", "v2"):
        (broken / version).mkdir(parents=True)
        for name in ("model.skops", "metadata.json"):
            (broken / version / name).write_bytes((artifact_root / version / name).read_bytes())
    model = broken / "v1" / "model.skops"
    model.write_bytes(model.read_bytes()[:-50])
    out = up({**stack_env, "CANARY_RUN_DIR": str(tmp_path / "run"), "CANARY_ARTIFACTS": str(broken)})
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr and "runtime-v1 did not become ready" in out.stderr
    assert "changed or truncated; refusing to load it" in out.stderr
    assert not leftovers(tmp_path / "run")
