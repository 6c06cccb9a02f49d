"""Start server processes in their own process group and stop them by pid."""

import ctypes
import itertools
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from canary import pooled
from canary.local import ports
from canary.polling import wait_until


def alive(pid: int) -> bool:
    """Running, that is: a zombie waiting for its parent to reap it has stopped."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def free_port() -> int:
    """A port free now, below the ephemeral range (no outgoing connection takes it before a server binds it),
    claimed for this process's life (``ports.free_block``)."""
    return ports.free_block(1, os.getpid() * 31 + next(_PORTS))


_PORTS = itertools.count()


@dataclass
class Process:
    """A started process and its log file."""

    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        """The process id, for stopping by pid."""
        return self.popen.pid

    def log(self) -> str:
        """The whole log so far."""
        return self.log_path.read_text(errors="replace")

    def cause(self) -> str:
        """One line: the last exception line in the log (``SomethingError: ...``), else its last line."""
        lines = [line.strip() for line in self.log().splitlines() if line.strip()]
        for line in reversed(lines):
            if re.match(r"^[\w.]+(Error|Exception): ", line):
                return line
        return lines[-1] if lines else "it wrote nothing to its log"

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM the whole group (MLServer's workers included), SIGKILL if it lingers."""
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout_s)


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, even by SIGKILL (Linux).

    The signal comes when the *thread* that started the child ends, so start such
    children from a thread that lives as long as the process.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start(cmd: list[str], log_path: Path, env: dict[str, str] | None = None, cwd: Path | None = None,
          die_with_parent: bool = False) -> Process:
    """Start ``cmd`` in its own process group, output to ``log_path``."""
    log = open(log_path, "ab")
    popen = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        cwd=cwd, start_new_session=True, preexec_fn=_die_with_parent if die_with_parent else None,
    )
    log.close()
    return Process(popen, log_path)


def answers_ok(url: str, timeout_s: float = 1.0) -> bool:
    """Whether ``url`` answers 200 within ``timeout_s`` (a readiness probe)."""
    try:
        return pooled.client().get(url, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def wait_http_ok(proc: Process, url: str, timeout_s: float = 90.0) -> None:
    """Poll ``url`` until it answers 200; fail with the process log if it dies or times out."""
    if wait_until(lambda: answers_ok(url), timeout_s, 0.2, alive=lambda: proc.popen.poll() is None):
        return
    if proc.popen.poll() is not None:
        raise RuntimeError(f"process exited with {proc.popen.returncode}:\n{proc.log()[-3000:]}")
    proc.stop()
    raise TimeoutError(f"{url} not ready after {timeout_s}s:\n{proc.log()[-3000:]}")


class StopFlag:
    """Set by SIGINT/SIGTERM. A plain flag: a handler that took a lock (Event.set) could
    deadlock against the main thread interrupted inside that same lock."""

    def __init__(self) -> None:
        self.set = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, *_: object) -> None:
        self.set = True

    def __bool__(self) -> bool:
        return self.set
