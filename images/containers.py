"""Containers as Kubernetes runs ours (read-only root, a tmpfs /tmp), removed whatever happens."""

import time

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from images.engine import EngineError


class Containers:
    """Start containers; on leaving the ``with`` block (success, failure or Ctrl-C) remove every one."""

    def __init__(self, client: docker.DockerClient):
        self.client, self.started = client, []

    def __enter__(self) -> "Containers":
        return self

    def __exit__(self, *exc) -> None:
        for container in self.started:
            try:
                container.remove(force=True)
            except (NotFound, APIError):
                pass

    def run(self, ref: str, ports: dict[int, int] | None = None, env: dict[str, str] | None = None,
            command: list[str] | None = None, host_network: bool = False) -> Container:
        """Start ``ref`` detached, ports published on 127.0.0.1 ({host: container})."""
        options = {"network_mode": "host"} if host_network else {
            "ports": {f"{inside}/tcp": ("127.0.0.1", host) for host, inside in (ports or {}).items()}}
        try:
            container = self.client.containers.run(ref, command=command, detach=True, read_only=True,
                                                   tmpfs={"/tmp": ""}, environment=env or {}, **options)
        except APIError as exc:
            raise EngineError(f"cannot start {ref}: {exc.explanation or exc}") from None
        self.started.append(container)
        return container


def healthcheck_of(client: docker.DockerClient, ref: str) -> list[str]:
    """The image's HEALTHCHECK test.

    NOTE: Podman 4.3's Docker-compatible image inspect omits Config.Healthcheck while its
    container inspect keeps it, so an unstarted container is created to read it.
    """
    test = (client.images.get(ref).attrs.get("Config") or {}).get("Healthcheck", {}).get("Test")
    if test:
        return test
    container = client.containers.create(ref)
    try:
        return (container.attrs.get("Config") or {}).get("Healthcheck", {}).get("Test") or []
    finally:
        container.remove(force=True)


def logs(container: Container, lines: int = 40) -> str:
    """The container's last log lines, for an error message."""
    try:
        return container.logs(tail=lines).decode(errors="replace")
    except APIError:
        return "(no logs)"


def wait_healthy(container: Container, timeout_s: float = 120) -> str:
    """Wait for the image's HEALTHCHECK to pass; 'engine' or 'exec', by who ran it.

    NOTE: Podman runs healthchecks from systemd timers, so where systemd is absent a
    container stays "starting" for ever; then the image's own HEALTHCHECK command runs
    through the engine's exec API, as the engine would run it.
    """
    container.reload()
    test = (container.attrs.get("Config") or {}).get("Healthcheck", {}).get("Test") or []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        container.reload()
        status = (container.attrs["State"].get("Health") or {}).get("Status")
        if container.status not in ("created", "running"):
            raise EngineError(f"{container.image.tags} exited ({container.status}):\n{logs(container)}")
        if status == "healthy":
            return "engine"
        if status == "unhealthy":
            raise EngineError(f"{container.image.tags} is unhealthy:\n{logs(container)}")
        if test[:1] == ["CMD"] and container.exec_run(test[1:]).exit_code == 0:
            return "exec"
        time.sleep(1)
    raise EngineError(f"{container.image.tags} not healthy after {timeout_s:.0f}s:\n{logs(container)}")


def wait_exit(container: Container, timeout_s: float = 120) -> tuple[int, str]:
    """A batch container's exit code and its output."""
    result = container.wait(timeout=timeout_s)
    return result.get("StatusCode", -1), container.logs().decode(errors="replace")
