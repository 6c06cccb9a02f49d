"""The type checker (mypy, strict) and the linter (ruff), with the project's settings from pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[1]


def run(tool: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=cwd, capture_output=True, text=True)


def probe(folder: Path, source: str, tool: str, *args: str) -> subprocess.CompletedProcess:
    """``tool`` run with the project's settings on one file holding ``source``."""
    shutil.copy(ROOT / "pyproject.toml", folder)
    (folder / "probe.py").write_text(source)
    return run(tool, *args, "probe.py", cwd=folder)


def test_the_typed_packages_check_clean_under_strict_mypy():
    out = run("mypy", "--no-incremental")
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_finds_nothing():
    out = run("ruff", "check", "--no-cache", ".")
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("source, error", [
    ("def f(x):\n    return x\n", "[no-untyped-def]"),
    ("def f(x: str | None) -> str:\n    return x.upper()\n", "[union-attr]"),
    ("def f(d: dict) -> int:\n    return len(d)\n", "[type-arg]"),
])
def test_the_settings_catch_what_strict_typing_is_for(tmp_path, source, error):
    out = probe(tmp_path, source, "mypy", "--no-incremental")
    assert out.returncode == 1 and error in out.stdout, out.stdout


@pytest.mark.parametrize("source, rule", [
    ("import os\n", "F401"),
    ("try:\n    pass\nexcept Exception:\n    pass\n", "BLE001"),
    ("def f(x=[]):\n    return x\n", "B006"),
])
def test_ruff_settings_catch_their_rules(tmp_path, source, rule):
    out = probe(tmp_path, source, "ruff", "check", "--no-cache")
    assert out.returncode == 1 and rule in out.stdout, out.stdout
