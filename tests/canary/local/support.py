"""Helpers of the local tests: the load generator as a user runs it, and waiting on a condition."""

import json
import subprocess
import sys
from pathlib import Path

from tests.canary.conftest import ROOT


def loadgen(target: str, *flags: str, out: Path) -> subprocess.Popen:
    """``python -m loadgen`` against ``target``, its summary written to ``out``."""
    return subprocess.Popen([sys.executable, "-m", "loadgen", "--target", target, "--quiet", "--json", str(out), *flags],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def summary(proc: subprocess.Popen, out: Path) -> dict:
    """Wait for the load generator; its JSON summary."""
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.read_text())
