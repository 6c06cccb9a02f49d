"""Shared by the canary tests: the repository root, a block of free ports, a stack started through the harness."""

from pathlib import Path

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



def weighted_steps(folder: Path):
    """The shipped Rollout from its first weight on (no shadow phase), parsed: bench.designs' copy of k8s/."""
    from bench.designs import variant
    from canary.rollout import spec

    return spec.load(variant(folder, shadow=False))
