"""python -m images without an engine: each failure is one line that says what to do, with exit 1 (2 for usage)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tools

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


def project(root: Path, requires: str) -> Path:
    """A project with an extra named judge, as pip wheel sees one."""
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "tiny"\nversion = "1"\n[project.optional-dependencies]\njudge = [{requires}]\n'
        '[tool.setuptools]\npy-modules = []\n')
    return root


def test_a_fresh_clone_gets_its_wheels_made_and_a_failure_names_the_package(tmp_path):
    from images import build
    from images.engine import EngineError

    said = []
    build.wheels(project(tmp_path / "ok", ""), ["judge"], said.append)
    assert [p.name for p in (tmp_path / "ok" / "build" / "wheels" / "judge").glob("*.whl")] == ["tiny-1-py3-none-any.whl"]
    assert said == ["wheels for judge -> build/wheels/judge (pip wheel)"]
    build.wheels(tmp_path / "ok", ["judge"], said.append)  # made: nothing to do
    assert len(said) == 1
    (tmp_path / "ok" / "build" / "wheels" / "judge" / ".complete").unlink()  # a pip that stopped halfway
    build.wheels(tmp_path / "ok", ["judge"], said.append)
    assert len(said) == 2
    with pytest.raises(EngineError, match="could not make the wheels for judge .*no-such-package-ml-canary"):
        build.wheels(project(tmp_path / "bad", '"no-such-package-ml-canary==1"'), ["judge"], said.append)
