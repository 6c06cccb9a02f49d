"""Every command's failure paths, run as a person runs them: one line that says what to do, a non-zero exit."""

import json
import os
import socket
import subprocess
import sys

import pytest

from canary.cli import main as canary_main
from canary.cli import stack as cli_stack
from canary.local import procs
from canary.local.harness import Harness
from tests.canary.conftest import ROOT, child_pids
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def run(*cmd: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=120)


def one_line(out: subprocess.CompletedProcess) -> str:
    """The error output, which must be exactly one line and no traceback."""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args, exit_code, says",
    [
        (["status"], 3, "no stack supervisor runs with run directory"),
        (["stack", "add-canary", "v2"], 3, "start one with 'canary up'"),
        (["get"], 3, "no controller runs with run directory"),
        (["rollout", "v2"], 3, "start one with 'canary controller'"),
        (["abort"], 3, "no controller runs"),
        (["controller"], 1, "no stack supervisor runs"),
        (["down"], 3, "no stack supervisor runs"),
        (["judge"], 3, "no stack supervisor runs"),
        (["dashboard", "--open"], 3, "start one with 'canary controller'"),
    ],
)
def test_nothing_running(tmp_path, args, exit_code, says):
    out = run(sys.executable, "-m", "canary", *args, env={"CANARY_RUN_DIR": str(tmp_path)})
    assert out.returncode == exit_code and says in one_line(out)


def test_a_stack_that_died_without_cleaning_up(tmp_path):
    port = procs.free_port()  # nothing listens there
    (tmp_path / "stack.json").write_text(json.dumps({"pid": 999999, "api": f"http://127.0.0.1:{port}", "token": "x"}))
    out = run(sys.executable, "-m", "canary", "status", env={"CANARY_RUN_DIR": str(tmp_path)})
    assert out.returncode == 3 and f"does not answer at http://127.0.0.1:{port}" in one_line(out)


def test_a_bad_variable_names_itself(tmp_path):
    out = run(sys.executable, "-m", "canary", "status", env={"CANARY_GATEWAY_PORT": "eighty"})
    assert out.returncode == 2 and "CANARY_GATEWAY_PORT" in one_line(out)


def test_the_seldon_runtime_missing_says_how_to_get_it(stack_env, tmp_path):
    env = {**stack_env, "CANARY_RUN_DIR": str(tmp_path / "run"), "CANARY_SELDON_BIN": str(tmp_path / "no-seldon")}
    out = run(sys.executable, "-m", "canary", "up", "--runtime", "seldon", env=env)
    assert out.returncode == 1
    assert "not found: 'make venv' builds .venv-seldon, or set CANARY_SELDON_BIN" in one_line(out)


def test_an_unexpected_error_is_one_line_with_the_traceback_in_a_file(tmp_path, monkeypatch, capsys):
    def broken(settings, args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setenv("CANARY_RUN_DIR", str(tmp_path))
    monkeypatch.setattr(cli_stack, "status", broken)  # the module main imports when 'status' runs
    assert canary_main.main(["status"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "canary status: unexpected error: ZeroDivisionError: a bug" in err
    assert "Traceback" in (tmp_path / "logs" / "canary-status-errors.log").read_text()
    assert canary_main.main(["--debug", "status"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_loadgen_metrics_port_in_use(tmp_path):
    with socket.create_server(("0.0.0.0", 0)) as holder:
        port = holder.getsockname()[1]
        out = run(sys.executable, "-m", "loadgen", "--metrics-port", str(port), "--duration", "1s", "--quiet")
    assert out.returncode == 2 and f"cannot serve metrics on port {port}" in one_line(out)


def test_loadgen_bad_variable():
    out = run(sys.executable, "-m", "loadgen", env={"LOADGEN_RPS": "fast"})
    assert out.returncode == 2 and "LOADGEN_RPS" in one_line(out)


def test_make_serve_with_a_damaged_artifact(artifact_root, tmp_path):
    broken = tmp_path / "artifacts"
    (broken / "v1").mkdir(parents=True)
    for name in ("model.skops", "metadata.json"):
        (broken / "v1" / name).write_bytes((artifact_root / "v1" / name).read_bytes())
    (broken / "v1" / "model.skops").write_bytes(b"not a model")
    out = run("make", "-s", "serve", "VERSION=v1", f"ARTIFACTS={broken}")
    assert out.returncode != 0 and "Traceback" not in out.stderr + out.stdout
    assert "cannot serve v1:" in out.stderr and "changed or truncated" in out.stderr


def test_make_serve_with_its_port_in_use(artifact_root):
    try:
        holder = socket.create_server(("0.0.0.0", 8081))
    except OSError:
        holder = None  # already held by something else: the same failure
    try:
        out = run("make", "-s", "serve", "VERSION=v2", f"ARTIFACTS={artifact_root}")
    finally:
        if holder:
            holder.close()
    assert out.returncode != 0 and "Traceback" not in out.stderr + out.stdout
    assert "port 8081 is in use" in out.stderr


def test_a_benchmark_killed_with_sigterm_leaves_no_stack_behind(stack_env, tmp_path):
    """What bench.rollout, bench.quality and the demo do: exit_on_sigterm, then a harness stopped in finally."""
    script = ("import sys, time\nfrom canary.local.harness import Harness, exit_on_sigterm\nexit_on_sigterm()\n"
              f"h = Harness({str(tmp_path / 'run')!r}, user='tests')\ntry:\n    h.start_stack()\n"
              "    print('up', flush=True)\n    time.sleep(600)\nfinally:\n    h.stop()\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, **stack_env},
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "up"
        pids = child_pids(Harness(tmp_path / "run", stack_env))
        proc.send_signal(15)
        assert proc.wait(90) == 143
        wait_until(lambda: not any(procs.alive(pid) for pid in pids), 30, "the stack's processes to stop")
    finally:
        proc.kill()
