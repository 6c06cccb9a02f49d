"""The marks' contract holds: a test with neither mark cannot start a process; a marked one can."""

import multiprocessing
import os
import subprocess
import sys

import pytest

from tests.canary.conftest import ROOT
from tests.processguard import ProcessStarted


def test_an_unmarked_test_cannot_start_a_process_and_is_told_to_mark_it():
    with pytest.raises(ProcessStarted, match="marked neither 'integration'.*nor 'tools'"):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    for start in ("fork", "spawn", "forkserver"):
        with pytest.raises(ProcessStarted):
            multiprocessing.get_context(start).Process(target=print).start()
    with pytest.raises(ProcessStarted):
        os.system("true")


@pytest.mark.parametrize("suite", ["cluster", "images"])
def test_the_suites_make_test_core_leaves_out_are_marked_too(suite):
    """make test-cluster and make test-images run under the same guard: every module there is marked."""
    for module in (ROOT / "tests" / suite).rglob("test_*.py"):
        text = module.read_text()
        assert "pytest.mark.integration" in text or "pytest.mark.tools" in text, module


@pytest.mark.tools
def test_a_marked_test_starts_processes():
    assert subprocess.run([sys.executable, "-c", "print('ran')"], capture_output=True, text=True).stdout == "ran\n"
