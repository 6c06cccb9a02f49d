"""A FastAPI app served on a free loopback port for the length of a test module (a real HTTP server)."""

from collections.abc import Iterator

from fastapi import FastAPI

from canary.local import procs
from canary.webapi import ServerThread


def served(app: FastAPI, name: str) -> Iterator[ServerThread]:
    """Yield the running server, its ``url`` set; stopped when the fixture ends."""
    port = procs.free_port()
    running = ServerThread(app, port, name).start()
    running.url = f"http://127.0.0.1:{port}"
    yield running
    running.stop()
