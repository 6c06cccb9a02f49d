"""The marks' contract holds: a test with neither mark cannot start a process; a marked one can."""

import multiprocessing
import subprocess
import sys

import pytest

from tests.processguard import ProcessStarted


def test_an_unmarked_test_cannot_start_a_process_and_is_told_to_mark_it():
    with pytest.raises(ProcessStarted, match="marked neither 'integration'.*nor 'tools'"):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    with pytest.raises(ProcessStarted):
        multiprocessing.get_context("fork").Process(target=print).start()


@pytest.mark.tools
def test_a_marked_test_starts_processes():
    assert subprocess.run([sys.executable, "-c", "print('ran')"], capture_output=True, text=True).stdout == "ran\n"
