"""python -m images without an engine: each failure is one line that says what to do, with exit 1 (2 for usage)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "images", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


def test_no_engine_names_docker_host_and_the_fix(tmp_path):
    sock = tmp_path / "nothing.sock"
    for command in ("build", "list", "smoke"):
        out = run(command, env={"DOCKER_HOST": f"unix://{sock}"})
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 1 and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
        assert f"no container engine answers at unix://{sock}" in lines[0] and "podman system service" in lines[0]


def test_push_without_a_registry_says_so():
    out = run("push")
    assert out.returncode == 1 and "push needs --registry" in out.stderr


def test_an_unknown_image_is_a_usage_error():
    out = run("build", "tensorflow")
    assert out.returncode == 2 and "unknown image tensorflow; the images are mlserver, seldon, loadgen, judge" in out.stderr
