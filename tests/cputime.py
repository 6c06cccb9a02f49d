"""Where the suite's CPU goes, per test: ``make test-core PYTEST_ARGS="-p tests.cputime"``.

On two cores ``make test`` keeps both busy nearly all the time (docs/testing.md), so its wall time moves with
the CPU its tests use more than with their durations, which is all ``--durations`` gives. Each test's row is the
CPU its worker used during it (the test's own code and in-process apps) and the CPU of the children the worker
reaped during it (servers, stacks, tools, with the children each of them reaped): a lower bound for what a test
started, since a process killed before it reaped its own children takes theirs along; a module's shared server
is charged to the test after which it stops. Each session writes ``cpu-<session>-<worker>.tsv`` to
ML_CANARY_ARTIFACTS (``make test`` sets test-artifacts/) and removes none: ``make test`` runs two sessions at once.
``python -m tests.cputime [folder]`` sums every session's files there (remove them before a run to see it
alone) and names the 15 heaviest tests.
"""

import os
import resource
import sys
import time
from collections.abc import Generator
from pathlib import Path

import pytest

HEADER = "self_s\tchildren_s\twall_s\ttest"
SESSION = "ML_CANARY_CPU_SESSION"  # set by the first process, before pytest-xdist starts its workers
FOLDER = "test-artifacts"
_PATH = pytest.StashKey[Path]()


def _cpu() -> tuple[float, float]:
    own, reaped = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, reaped.ru_utime + reaped.ru_stime


def pytest_sessionstart(session: pytest.Session) -> None:
    """This worker's file, headed; the session is named by the first process's pid, which its workers inherit."""
    os.environ.setdefault(SESSION, str(os.getpid()))  # xdist starts its workers in its own sessionstart, trylast
    folder = Path(os.environ.get("ML_CANARY_ARTIFACTS") or FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"cpu-{os.environ[SESSION]}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.tsv"
    path.write_text(HEADER + "\n")
    session.config.stash[_PATH] = path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """One row per test: setup, call and teardown together."""
    (own, reaped), start = _cpu(), time.monotonic()
    try:
        return (yield)
    finally:
        (own_after, reaped_after), wall = _cpu(), time.monotonic() - start
        with item.config.stash[_PATH].open("a") as out:
            out.write(f"{own_after - own:.2f}\t{reaped_after - reaped:.2f}\t{wall:.1f}\t{item.nodeid}\n")


def _rows(path: Path) -> list[list[str]]:
    rows = [line.split("\t") for line in path.read_text().splitlines() if line != HEADER]
    if any(len(row) != 4 for row in rows):
        raise ValueError(f"{path}: not a tests.cputime file (rows of {HEADER!r})")
    return rows


def heaviest(folder: Path, top: int = 15) -> str:
    """The totals over every session's files in ``folder``, then the ``top`` tests by CPU."""
    files = sorted(folder.glob("cpu-*.tsv"))
    if not files:
        raise FileNotFoundError(f"no cpu-*.tsv in {folder}: run the tests with PYTEST_ARGS=\"-p tests.cputime\"")
    costs = sorted(((float(s) + float(c), float(s), float(c), float(w), t) for path in files
                    for s, c, w, t in _rows(path)), reverse=True)
    own, reaped = sum(r[1] for r in costs), sum(r[2] for r in costs)
    sessions = len({path.name.split("-")[1] for path in files})
    lines = [f"{len(costs)} tests in {sessions} session(s): {own + reaped:.0f} CPU s ({own:.0f} in the workers, "
             f"{reaped:.0f} in their children)", "  CPU s   self  child wall s  test"]
    lines += [f"{total:7.1f} {s:6.1f} {c:6.1f} {w:6.1f}  {t}" for total, s, c, w, t in costs[:top]]
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        print(heaviest(Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ML_CANARY_ARTIFACTS", FOLDER))))
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f"tests.cputime: {exc}")
