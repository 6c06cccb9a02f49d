"""Helpers of the local tests: the load generator as a user runs it, and waiting on a condition."""

import json
import subprocess
import sys
import time
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


def wait_until(condition, timeout_s: float, what: str):
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f}s waiting for {what}"
        time.sleep(0.1)
    return value
