import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from canary.local import procs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stub(tmp_path):
    """Start a stub server with the given flags; returns its base URL."""
    started = []

    def start(*flags: str) -> str:
        port = procs.free_port()
        proc = procs.start(
            [sys.executable, "-m", "tests.loadgen.stub_server", "--port", str(port), *flags],
            tmp_path / f"stub-{port}.log", cwd=ROOT,
        )
        started.append(proc)
        procs.wait_http_ok(proc, f"http://127.0.0.1:{port}/ready", timeout_s=20)
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def run_loadgen(tmp_path):
    """Run ``python -m loadgen`` for real; returns (exit code, summary JSON, stdout, stderr)."""

    def run(*flags: str, interrupt_after_progress: int | None = None, env: dict | None = None):
        """``interrupt_after_progress=N``: Ctrl-C once N live progress lines were printed."""
        out = tmp_path / "summary.json"
        cmd = [sys.executable, "-m", "loadgen", "--json", str(out), *flags]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, **(env or {})})
        seen = []
        if interrupt_after_progress is not None:
            for line in proc.stderr:
                seen.append(line)
                if sum(l.startswith("[") for l in seen) >= interrupt_after_progress:
                    proc.send_signal(signal.SIGINT)
                    break
        stdout, stderr = proc.communicate(timeout=120)
        stderr = "".join(seen) + stderr
        doc = json.loads(out.read_text()) if out.exists() else None
        return proc.returncode, doc, stdout, stderr

    return run


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (free now; nobody in this test binds it)."""
    return procs.free_port()
