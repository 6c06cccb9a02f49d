"""tests.cputime: a test is charged the CPU of its children, under pytest-xdist too, and two sessions writing
to one folder at once (as make test's two do) are both counted."""

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


def _session(folder, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.cputime", "-p", "no:cacheprovider", "-q",
                           *flags, str(folder / "test_inner.py")], cwd=ROOT, capture_output=True, text=True,
                          env={"ML_CANARY_ARTIFACTS": str(folder / "out"), "PATH": "/usr/bin:/bin"})


def test_a_child_burning_half_a_second_is_charged_to_its_test_in_each_of_two_sessions(tmp_path):
    (tmp_path / "test_inner.py").write_text(BUSY)
    for flags in (("-n", "2"), ()):
        done = _session(tmp_path, *flags)
        assert done.returncode == 0, done.stdout + done.stderr
    files = sorted(p.name.split("-", 2)[2] for p in (tmp_path / "out").glob("cpu-*.tsv"))
    assert files == ["gw0.tsv", "gw1.tsv", "main.tsv", "main.tsv"]  # xdist's first process writes no rows
    report = heaviest(tmp_path / "out").splitlines()
    assert report[0].startswith("4 tests in 2 session(s):"), report
    assert [r.split()[-1].split("::")[-1] for r in report[2:4]] == ["test_busy", "test_busy"], report
    assert all(float(r.split()[2]) >= 0.4 for r in report[2:4]) and float(report[4].split()[2]) < 0.1, report


def test_no_files_or_a_foreign_file_is_named_not_summed_to_zero(tmp_path):
    with pytest.raises(FileNotFoundError, match="-p tests.cputime"):
        heaviest(tmp_path)
    (tmp_path / "cpu-1-main.tsv").write_text("some other table\n")
    with pytest.raises(ValueError, match="cpu-1-main.tsv: not a tests.cputime file"):
        heaviest(tmp_path)
