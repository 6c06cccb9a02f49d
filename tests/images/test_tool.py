"""python -m images against a real engine (CI: Podman's Docker-compatible socket): builds that fail say
where and why, a push to no registry says so, and the smoke command passes on the built images."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from images import build
from images.engine import EngineError, connect

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TAG = os.environ.get("ML_CANARY_IMAGE_TAG", "test")
BASE = "docker.io/library/python:3.11-slim"


def context(tmp_path: Path, dockerfile: str) -> Path:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "Dockerfile").write_text(dockerfile)
    return tmp_path


def test_a_failing_step_shows_its_output_and_where(tmp_path):
    root = context(tmp_path, f'FROM {BASE} AS mlserver\nRUN echo "about to fail: no model here" && false\n')
    with pytest.raises(EngineError) as failed:
        build.build_one(connect(), root, "mlserver", {}, "ml-canary-broken:test", say=lambda line: None)
    message = str(failed.value)
    assert "the mlserver image failed at" in message and "step 2/2" in message and "about to fail: no model here" in message


def test_a_missing_base_image_is_named(tmp_path):
    root = context(tmp_path, "ARG BASE_IMAGE\nFROM ${BASE_IMAGE} AS mlserver\nRUN true\n")
    with pytest.raises(EngineError, match="is the base image localhost/no-such-base:1 present"):
        build.build_one(connect(), root, "mlserver", {"BASE_IMAGE": "localhost/no-such-base:1"}, "ml-canary-x:test",
                        say=lambda line: None)


def test_a_push_to_no_registry_is_one_line():
    out = subprocess.run([sys.executable, "-m", "images", "push", "loadgen", "--registry", "127.0.0.1:9", "--tag", TAG],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("images push: ")
    assert "127.0.0.1:9" in out.stderr


def test_list_shows_size_user_and_healthcheck():
    out = subprocess.run([sys.executable, "-m", "images", "list", "--tag", TAG], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line for line in out.stdout.splitlines()[1:]}
    assert " 10001 " in rows[f"ml-canary-mlserver:{TAG}"] and "http://127.0.0.1:8080/v2/health/live" in rows[f"ml-canary-mlserver:{TAG}"]
    assert rows[f"ml-canary-loadgen:{TAG}"].endswith("none")
    assert rows[f"ml-canary-judge:{TAG}"].endswith("http://127.0.0.1:8080/healthz")


def test_the_smoke_command_passes_and_leaves_no_container():
    client = connect()
    before = {c.id for c in client.containers.list(all=True)}
    out = subprocess.run([sys.executable, "-m", "images", "smoke", "--tag", TAG], cwd=ROOT, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr + out.stdout
    assert out.stdout.count(" ok: ") == 4 and "uid 10001" in out.stdout
    assert "502 without Prometheus" in out.stdout  # the judge never passes a canary it cannot judge
    assert {c.id for c in client.containers.list(all=True)} <= before
