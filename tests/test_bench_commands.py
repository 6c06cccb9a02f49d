"""Every benchmark documented in docs/benchmarks.md starts: its --help runs as a person would run it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTED = sorted(set(re.findall(r"python -m (bench\.\w+)", (ROOT / "docs" / "benchmarks.md").read_text())))


def test_the_docs_name_benchmarks():
    assert {"bench.runtime", "bench.stack", "bench.rollout", "bench.judge", "bench.judge_api"} <= set(DOCUMENTED)


@pytest.mark.parametrize("module", DOCUMENTED)
def test_each_documented_benchmark_starts(module):
    out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "usage:" in out.stdout, out.stderr
