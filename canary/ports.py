"""Is a port free, and if not, which process holds it: for errors a person can act on."""

import os
import socket
from pathlib import Path


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(inode)
    return inodes


def owner(port: int) -> str | None:
    """'pid 4121 (envoy)' for the process listening on ``port``, when /proc lets us see it."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    name = Path(f"/proc/{pid}/comm").read_text().strip()
                    return f"pid {pid} ({name})"
        except OSError:
            continue
    return None


def check(ports: dict[str, tuple[int, str]]) -> list[str]:
    """For each {what: (port, variable)} in use, a sentence naming it, its holder and the fix."""
    problems = []
    for what, (port, variable) in ports.items():
        if not is_free(port):
            holder = owner(port)
            problems.append(f"port {port} ({what}) is in use{f' by {holder}' if holder else ''}; set {variable}")
    return problems
