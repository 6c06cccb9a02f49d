"""An unexpected error in a command: one line for the person, the traceback in a log file (or with --debug)."""

import sys
import time
import traceback
from pathlib import Path


def report(prog: str, exc: BaseException, log_dir: Path, debug: bool) -> int:
    """Say what failed in one line and where the details are; exit code 1."""
    detail = "".join(traceback.format_exception(exc))
    where = _write(log_dir, prog, detail)
    if debug:
        print(detail, file=sys.stderr, end="")
    hint = f"the traceback is in {where}" if where else "the traceback could not be written"
    print(f"{prog}: unexpected error: {type(exc).__name__}: {exc}; {hint} (--debug prints it here); "
          "please report it", file=sys.stderr)
    return 1


def _write(log_dir: Path, prog: str, detail: str) -> Path | None:
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / f"{prog.replace(' ', '-').replace('python -m ', '')}-errors.log"
        with open(path, "a") as f:
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}\n{detail}")
        return path
    except OSError:
        return None
