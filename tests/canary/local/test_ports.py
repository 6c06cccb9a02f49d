"""Port blocks handed out to runs side by side (parallel test workers, two benches) never overlap."""

import subprocess
import sys

import pytest

from canary.local import ports
from tests.canary.conftest import ROOT


def overlap(a: int, b: int, size: int) -> bool:
    """Two blocks of ``size`` ports starting at ``a`` and ``b`` share a port."""
    return abs(a - b) < size


def test_a_process_never_gets_a_block_it_picked_before():
    first, second = ports.free_block(5, 4242), ports.free_block(5, 4242)
    assert not overlap(first, second, 5)


@pytest.mark.tools
def test_a_block_another_process_holds_is_not_handed_out_until_that_process_ends():
    hold = "import sys\nfrom canary.local import ports\nprint(ports.free_block(5, 777), flush=True)\nsys.stdin.read()\n"
    holder = subprocess.Popen([sys.executable, "-c", hold], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        theirs = int(holder.stdout.readline())
        assert not overlap(ports.free_block(5, 777), theirs, 5)  # the same seed: their block comes first
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert ports.free_block(5, 777) == theirs  # their claim ended with them
