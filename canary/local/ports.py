"""Is a port free, and if not, which process holds it (for errors a person can act on); blocks of free ports
claimed so that runs side by side never get the same one."""

import errno
import fcntl
import functools
import logging
import os
import socket
import tempfile
import threading
from pathlib import Path

import psutil

# A port block picked here is claimed by a POSIX record lock on one shared file, over the block's port numbers
# as byte offsets: the kernel refuses an overlapping claim to any other process of the same user (parallel test
# workers, two benches) and drops a claim with the process that made it, so none outlives its holder. The
# descriptor stays open: closing any descriptor of the file would drop every claim this process holds.
_MINE: set[int] = set()
_MINE_LOCK = threading.Lock()
log = logging.getLogger(__name__)


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when ``port`` can be bound on ``host`` now."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def owner(port: int) -> str | None:
    """'pid 4121 (envoy)' for the process listening on ``port``, when the system lets us see it."""
    try:
        listeners = [c for c in psutil.net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid]
    except psutil.AccessDenied:
        return None
    for conn in listeners:
        try:
            return f"pid {conn.pid} ({psutil.Process(conn.pid).name()})"
        except psutil.Error:
            return f"pid {conn.pid}"
    return None


def check(ports: dict[str, tuple[int, str]]) -> list[str]:
    """For each {what: (port, variable)} in use, a sentence naming it, its holder and the fix."""
    problems = []
    for what, (port, variable) in ports.items():
        if not is_free(port):
            holder = owner(port)
            problems.append(f"port {port} ({what}) is in use{f' by {holder}' if holder else ''}; set {variable}")
    return problems


def ephemeral_floor() -> int:
    """The lowest port the kernel hands out to outgoing connections (Linux: 32768 unless changed)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_block(size: int, seed: int, low: int = 20000) -> int:
    """The first port of ``size`` consecutive free ports, searched from a ``seed``-dependent place, and
    claimed for the life of this process: no other process of this user gets it meanwhile, and this one
    never gets it twice.

    Only below the ephemeral range: a port there can be taken by any outgoing connection
    between the check and the moment a server binds it.
    """
    bases = list(range(low, ephemeral_floor() - size, size + 1))
    if not bases:
        raise RuntimeError(f"no room for {size} ports between {low} and the ephemeral range")
    first = (seed * 97) % len(bases)
    for base in bases[first:] + bases[:first]:
        if all(is_free(base + i) for i in range(size)) and _claim(base, size):
            return base
    raise RuntimeError(f"no block of {size} free ports between {low} and {ephemeral_floor()}")


@functools.cache
def _claims_file() -> int | None:
    """The descriptor whose record locks are this process's claims; None (claims in this process only) when
    the file cannot be opened."""
    path = Path(tempfile.gettempdir()) / f"ml-canary-ports-{os.getuid()}.lock"
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        log.warning("ports are claimed in this process only: cannot open %s (%s)", path, exc.strerror)
        return None


def _claim(base: int, size: int) -> bool:
    """Claim ports ``base`` to ``base + size - 1``; False when another process holds any of them, or this one
    picked any before (its server may not have bound yet)."""
    wanted = set(range(base, base + size))
    with _MINE_LOCK:
        if wanted & _MINE:
            return False
        fd = _claims_file()
        try:
            if fd is not None:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, size, base, os.SEEK_SET)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                return False  # held by another process
            raise
        _MINE.update(wanted)
        return True
