"""The container engine, found as the docker CLI finds it (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH)."""

import os

import docker
from docker.errors import DockerException

IMAGES = ("mlserver", "seldon", "loadgen", "judge")


class EngineError(Exception):
    """A failure a person can act on; the message is one line that says what to do."""


def connect(timeout_s: int = 600) -> docker.DockerClient:
    """A client that has answered a ping; EngineError naming DOCKER_HOST and the fix otherwise."""
    host = os.environ.get("DOCKER_HOST") or "the default socket (unix:///var/run/docker.sock)"
    try:
        client = docker.from_env(timeout=timeout_s)
        client.ping()
    except DockerException as exc:
        raise EngineError(f"no container engine answers at {host} ({first_line(exc)}); start Docker, or run "
                          "'podman system service --time=0 unix:///PATH/podman.sock' and set "
                          "DOCKER_HOST=unix:///PATH/podman.sock") from None
    return client


def reference(name: str, registry: str, tag: str) -> str:
    """REGISTRY/ml-canary-NAME:TAG (no registry: ml-canary-NAME:TAG)."""
    return f"{registry.rstrip('/') + '/' if registry else ''}ml-canary-{name}:{tag}"


def first_line(exc: BaseException, limit: int = 300) -> str:
    """An engine's error, which may span lines and pages, as one short line."""
    text = str(getattr(exc, "explanation", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:limit]
