"""Build the images from images/Dockerfile and the host-prepared wheels, with a progress line per step."""

import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, BuildError, ImageNotFound

from images.containers import healthcheck_of
from images.engine import EngineError, first_line, reference

# Docker's classic builder says "Step 4/11 : RUN ...", Podman "[2/3] STEP 4/6: RUN ...".
STEP = re.compile(r"^(?:\[(?P<stage>\d+/\d+)\] )?(?:Step|STEP) (?P<n>\d+)/(?P<m>\d+)\s*:?\s*(?P<what>.*)$")
MISSING_BASE = re.compile(r"not known|not found|pull access denied|manifest unknown|no such image", re.I)


@dataclass(frozen=True)
class Built:
    """One image as built: what the table at the end shows."""

    name: str
    ref: str
    size_mb: float
    seconds: float
    user: str
    healthcheck: str


def build_one(client: docker.DockerClient, root: Path, name: str, args: dict[str, str], tag_as: str,
              say: Callable[[str], None] = print) -> Built:
    """Build target ``name``; EngineError with the failing step's output when it fails."""
    started, step, output = time.monotonic(), "before the first step", []
    try:
        for chunk in client.api.build(path=str(root), dockerfile="images/Dockerfile", target=name, tag=tag_as,
                                      buildargs={**args, "EXTRA": name}, decode=True, rm=True, forcerm=True, pull=False):
            if "error" in chunk or "errorDetail" in chunk:
                raise _failed(name, step, output, chunk.get("error") or chunk["errorDetail"].get("message", ""), args)
            for line in chunk.get("stream", "").splitlines():
                if match := STEP.match(line.strip()):
                    stage = f"stage {match['stage']}, " if match["stage"] else ""
                    step, output = f"{stage}step {match['n']}/{match['m']}", []
                    say(f"[{name}] {step} ({time.monotonic() - started:.0f}s) {match['what'][:100]}")
                elif line.strip():
                    output.append(line.rstrip())
    except (APIError, BuildError) as exc:
        raise _failed(name, step, output, first_line(exc), args) from None
    return describe(client, name, tag_as, time.monotonic() - started)


def _failed(name: str, step: str, output: list[str], error: str, args: dict[str, str]) -> EngineError:
    base = args.get("BASE_IMAGE")
    # Docker says the image is not found; Podman tries to pull it and names it in the failure.
    if base and (MISSING_BASE.search(error) or base in error):
        error += f"; is the base image {base} present? build or pull it first, or set BASE_IMAGE"
    tail = "\n".join(f"    {line}" for line in output[-25:])
    return EngineError(f"the {name} image failed at {step}: {error}" + (f"\n  its output:\n{tail}" if tail else ""))


def describe(client: docker.DockerClient, name: str, ref: str, seconds: float = 0.0) -> Built:
    """Size, user and healthcheck of a built image, from the engine."""
    try:
        attrs = client.images.get(ref).attrs
    except ImageNotFound:
        raise EngineError(f"image {ref} is not there; build it with 'python -m images build'") from None
    config = attrs.get("Config") or {}
    test = healthcheck_of(client, ref)
    command = " ".join(test[1:])
    url = re.search(r"https?://[^'\" ]+", command)
    health = "none" if not test or test == ["NONE"] else (url.group(0) if url else command[:40])
    return Built(name, ref, attrs.get("Size", 0) / 1e6, seconds, config.get("User") or "root", health)


def wheels(root: Path, names: list[str], say: Callable[[str], None] = print, again: bool = False) -> None:
    """The wheels each image installs from (build/wheels/NAME), made with this Python's pip where missing (or
    ``again``): a fresh clone builds with 'python -m images build' alone. A folder counts as made once pip
    finished it (its .complete file), never after a pip that failed halfway."""
    for name in names:
        folder = root / "build" / "wheels" / name
        if (folder / ".complete").exists() and not again:
            continue
        say(f"wheels for {name} -> {folder.relative_to(root)} (pip wheel)")
        (folder / ".complete").unlink(missing_ok=True)
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(folder), f".[{name}]"],
                              cwd=root, capture_output=True, text=True)
        if done.returncode:
            problem = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise EngineError(f"could not make the wheels for {name} (pip wheel: {problem})")
        (folder / ".complete").touch()


def build_all(client: docker.DockerClient, root: Path, names: list[str], registry: str, tag: str,
              args: dict[str, str], say: Callable[[str], None] = print) -> list[Built]:
    """Every named image, in order, its wheels made first where missing; stops at the first failure."""
    wheels(root, names, say)
    return [build_one(client, root, name, args, reference(name, registry, tag), say) for name in names]


def table(built: list[Built]) -> str:
    """The images as a table: name, size, build time, user, healthcheck."""
    rows = [f"{'IMAGE':<40} {'SIZE':>8} {'BUILD':>7} {'USER':<6} HEALTHCHECK"]
    rows += [f"{b.ref:<40} {b.size_mb:>6.0f}MB {b.seconds:>6.0f}s {b.user:<6} {b.healthcheck}" for b in built]
    return "\n".join(rows)
