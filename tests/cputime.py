"""Where the suite's CPU goes, per test: ``make test-core PYTEST_ARGS="-p tests.cputime"``.

On two cores ``make test`` keeps both busy from start to end (docs/testing.md), so its wall time follows the CPU
its tests use, not their durations. Each test's row is the CPU its worker used during it (the test's own code and
in-process apps) and the CPU of the children the worker reaped during it (servers, stacks, tools, with their own
reaped children): a module's shared server is charged to the test after which it stops. Rows go to
``cpu-<worker>.tsv`` in ML_CANARY_ARTIFACTS (``make test`` sets test-artifacts/), else the working folder;
``python -m tests.cputime [folder]`` prints the totals and the 15 heaviest. pytest-xdist and psutil report neither.
"""

import os
import resource
import sys
import time
from collections.abc import Generator
from pathlib import Path

import pytest

HEADER = "self_s\tchildren_s\twall_s\ttest\n"


def _cpu() -> tuple[float, float]:
    own, reaped = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, reaped.ru_utime + reaped.ru_stime


def report_path() -> Path:
    """This worker's file of rows."""
    folder = Path(os.environ.get("ML_CANARY_ARTIFACTS") or ".")
    return folder / f"cpu-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.tsv"


def pytest_sessionstart(session: pytest.Session) -> None:
    """A fresh file for this worker's rows; the first process (before pytest-xdist starts its workers, which it
    does last) removes an earlier run's, which may have had more workers."""
    path = report_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if "PYTEST_XDIST_WORKER" not in os.environ:
        for old in path.parent.glob("cpu-*.tsv"):
            old.unlink()
    path.write_text(HEADER)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    """One row per test: setup, call and teardown together."""
    (own, reaped), start = _cpu(), time.monotonic()
    yield
    (own_after, reaped_after), wall = _cpu(), time.monotonic() - start
    with report_path().open("a") as out:
        out.write(f"{own_after - own:.2f}\t{reaped_after - reaped:.2f}\t{wall:.1f}\t{item.nodeid}\n")


def heaviest(folder: Path, top: int = 15) -> str:
    """The totals over every worker's file in ``folder``, then the ``top`` tests by CPU."""
    rows = [line.split("\t") for path in sorted(folder.glob("cpu-*.tsv"))
            for line in path.read_text().splitlines()[1:]]
    costs = sorted(((float(s) + float(c), float(s), float(c), float(w), t) for s, c, w, t in rows), reverse=True)
    own, reaped = sum(r[1] for r in costs), sum(r[2] for r in costs)
    lines = [f"{len(costs)} tests: {own + reaped:.0f} CPU s ({own:.0f} in the workers, {reaped:.0f} in their children)"]
    lines += [f"{total:7.1f} {s:6.1f} {c:6.1f} {w:6.1f}  {t}" for total, s, c, w, t in costs[:top]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(heaviest(Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ML_CANARY_ARTIFACTS", "test-artifacts"))))
