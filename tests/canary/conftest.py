"""Shared by the canary tests: the repository root, a block of free ports, a stack started through the harness."""

import contextlib
import socket
from pathlib import Path

import psutil
import pytest

from canary.local.harness import Harness, free_port_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack_env(artifact_root) -> dict[str, str]:
    """What differs between runs and nothing else: the ports, and the artifacts trained for this session."""
    return {**free_port_env(), "CANARY_ARTIFACTS": str(artifact_root)}


def start_stack(run_dir: Path, env: dict[str, str], runtime: str | None = None) -> Harness:
    """A real 'canary up' through the harness; stop it with ``harness.stop()``."""
    harness = Harness(run_dir, env, user="tests")
    try:
        harness.start_stack(runtime)
    except BaseException:
        harness.stop()
        raise
    return harness


def child_pids(harness: Harness) -> list[int]:
    """The pids of every process the stack supervisor started."""
    from canary.local.client import StackClient

    return [p["pid"] for p in StackClient(harness.run_dir).status()["processes"]]


def lan_address() -> str:
    """This machine's first IPv4 address that is not loopback: where a neighbour on the network connects."""
    for addresses in psutil.net_if_addrs().values():
        for a in addresses:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                return a.address
    pytest.fail("this machine has no IPv4 address but loopback: nothing to connect from the network with")


def listening_ports(pid: int) -> set[int]:
    """The TCP ports a process and its children listen on."""
    found = set()
    process = psutil.Process(pid)
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            found |= {c.laddr.port for c in p.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
    return found


def assert_reachable_from_this_machine_only(pid: int) -> None:
    """Every port ``pid`` (with its children) listens on answers on 127.0.0.1 and refuses the LAN address."""
    lan, ports = lan_address(), listening_ports(pid)
    assert ports, f"process {pid} listens on nothing"
    for port in sorted(ports):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((lan, port), timeout=2).close()


def weighted_steps(folder: Path):
    """The shipped Rollout from its first weight on (no shadow phase), parsed: bench.designs' copy of k8s/."""
    from bench.designs import variant
    from canary.rollout import spec

    return spec.load(variant(folder, shadow=False))


@pytest.fixture
def canary_logging():
    """The ``canary`` loggers as they were, after a test that sets them up (canary.cli.logs.setup)."""
    import logging

    logger = logging.getLogger("canary")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved
