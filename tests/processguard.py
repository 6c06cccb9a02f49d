"""The ``integration`` and ``tools`` marks are a contract: a test with neither starts no process, so ``make
test-fast`` can leave the marked ones out and still run everything else. A test that breaks the contract fails,
naming the command it tried to start."""

import _posixsubprocess
import os
import subprocess
from collections.abc import Generator

import pytest

MARKS = ("integration", "tools")


class ProcessStarted(AssertionError):
    """A test marked neither integration nor tools tried to start a process."""


def _refused(command: object) -> ProcessStarted:
    return ProcessStarted(f"this test starts a process ({command!r}) but is marked neither 'integration' (a "
                          "server) nor 'tools' (a command-line tool): mark it, so 'make test-fast' leaves it out")


def _no_popen(self: subprocess.Popen, args: object, *rest: object, **kwargs: object) -> None:
    raise _refused(args)


def _no_spawn(*args: object, **kwargs: object) -> None:
    raise _refused(args[:2] or "os.fork")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """Setup, call and teardown of an unmarked test run with process creation refused."""
    if any(item.get_closest_marker(mark) is not None for mark in MARKS):
        return (yield)
    with pytest.MonkeyPatch.context() as patch:
        # Popen covers subprocess.run, asyncio's subprocesses and every tool wrapper; fork_exec covers
        # multiprocessing's spawn and forkserver starts; the os calls cover the rest.
        patch.setattr(subprocess.Popen, "_execute_child", _no_popen)
        patch.setattr(_posixsubprocess, "fork_exec", _no_spawn)
        for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system"):
            patch.setattr(os, name, _no_spawn)
        return (yield)
