"""Which way imports go (docs/architecture.md), checked by import-linter against pyproject.toml's contracts."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("models", "servers", "loadgen", "canary", "canary/rollout", "canary/local", "canary/cli", "canary/judge", "canary/dashboard", "images", "tests",
            "bench")


def lint(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--config", str(folder / "pyproject.toml"), "--no-cache"], cwd=folder,
                          capture_output=True, text=True, env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"})


def test_the_contracts_hold():
    out = lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "9 kept, 0 broken" in out.stdout


@pytest.mark.parametrize(
    "module, imports, contract",
    [
        ("canary/rollout/bad.py", "canary.local", "the rollout engine never imports the local platform"),
        ("servers/bad.py", "canary", "servers never imports canary or loadgen"),
        ("models/bad.py", "servers", "models is pure scikit-learn"),
        ("canary/local/bad.py", "canary.cli", "the local platform never imports the commands"),
        ("loadgen/bad.py", "tests", "nothing imports tests or bench"),
        ("bench/bad.py", "tests", "bench never imports tests"),
        ("canary/judge/bad.py", "canary.rollout", "the judge is a service of its own"),
        ("canary/rollout/bad.py", "canary.judge", "the engine reaches the judge over HTTP only"),
        ("canary/dashboard/bad.py", "canary.rollout", "the dashboard is a page over HTTP"),
    ],
)
def test_each_contract_catches_its_violation(tmp_path, module, imports, contract):
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for package in PACKAGES:
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / module).write_text(f"import {imports}\n")
    out = lint(tmp_path)
    assert out.returncode == 1 and f"{contract}" in out.stdout and "BROKEN" in out.stdout, out.stdout
