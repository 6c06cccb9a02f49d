"""Push the images with a line per layer as its state changes; a missing login or registry is one line."""

import re
from collections.abc import Callable

import docker
from docker.errors import APIError

from images.engine import EngineError, first_line

_DENIED = re.compile(r"unauthorized|denied|authentication required|requested access", re.I)
_UNREACHABLE = re.compile(r"connection refused|no such host|dial tcp|i/o timeout|lookup |connect: ", re.I)


def push_one(client: docker.DockerClient, ref: str, say: Callable[[str], None] = print) -> None:
    """Push ``ref``; EngineError saying whether to log in or to check the registry's address."""
    repository, _, tag = ref.rpartition(":")
    registry = repository.split("/", 1)[0]
    states: dict[str, str] = {}
    try:
        for chunk in client.api.push(repository, tag=tag, stream=True, decode=True):
            if "error" in chunk or "errorDetail" in chunk:
                raise _failed(ref, registry, chunk.get("error") or chunk["errorDetail"].get("message", ""))
            layer, status = chunk.get("id"), chunk.get("status", "")
            if layer and states.get(layer) != status:  # one line per layer and state, not per byte
                states[layer] = status
                say(f"[{ref}] layer {layer}: {status}")
    except APIError as exc:
        raise _failed(ref, registry, first_line(exc)) from None
    say(f"[{ref}] pushed ({len(states)} layers)")


def _failed(ref: str, registry: str, error: str) -> EngineError:
    if _DENIED.search(error):
        return EngineError(f"push of {ref} refused: {error}; log in first: docker login {registry}")
    if _UNREACHABLE.search(error):
        return EngineError(f"push of {ref} failed: registry {registry} is unreachable ({error}); check REGISTRY")
    return EngineError(f"push of {ref} failed: {error}")
