"""Is a port free, and if not, which process holds it: for errors a person can act on."""

import socket

import psutil


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


def free_block(size: int, start: int) -> int:
    """The first port of ``size`` consecutive free ports at or after ``start`` (wrapping at 60000)."""
    for base in list(range(start, 60000, size + 1)) + list(range(20000, start, size + 1)):
        if all(is_free(base + i) for i in range(size)):
            return base
    raise RuntimeError(f"no block of {size} free ports between 20000 and 60000")
