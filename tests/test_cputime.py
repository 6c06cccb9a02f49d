"""tests.cputime: the CPU of a test's children is charged to that test, and the heaviest is named first."""

import subprocess
import sys

import pytest

from tests.canary.conftest import ROOT
from tests.cputime import heaviest

pytestmark = pytest.mark.tools

BUSY = '''
import subprocess, sys

def test_busy():
    subprocess.run([sys.executable, "-c", "import time\\nend = time.process_time() + 0.5\\nwhile time.process_time() < end: pass"])

def test_idle():
    pass
'''


def test_a_test_whose_child_burns_half_a_second_is_charged_it_and_named_first(tmp_path):
    (tmp_path / "cpu-gw7.tsv").write_text("self_s\tchildren_s\twall_s\ttest\n9.0\t9.0\t1.0\tgone::test\n")
    (tmp_path / "test_inner.py").write_text(BUSY)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.cputime", "-p", "no:cacheprovider", "-q",
                           str(tmp_path / "test_inner.py")], cwd=ROOT, capture_output=True, text=True,
                          env={"ML_CANARY_ARTIFACTS": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split("\t") for line in (tmp_path / "cpu-main.tsv").read_text().splitlines()[1:]]
    charged = {test.split("::")[-1]: float(children) for _, children, _, test in rows}
    assert charged["test_busy"] >= 0.4 and charged["test_idle"] < 0.1, rows
    report = heaviest(tmp_path).splitlines()
    assert report[0].startswith("2 tests:") and report[1].endswith("::test_busy"), report  # the stale worker's file is gone
