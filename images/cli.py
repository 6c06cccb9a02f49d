"""``python -m images build|push|list|smoke``: the project's images on the Docker SDK, for Docker and Podman alike."""

import argparse
import subprocess
import sys
from pathlib import Path

from images import build, push, smoke
from images.engine import IMAGES, EngineError, connect, reference

ROOT = Path(__file__).resolve().parent.parent


def _revision() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The four commands; each takes the images to act on (default: all of them)."""
    p = argparse.ArgumentParser(prog="python -m images", description=__doc__.splitlines()[0]
                                + " The engine is the one DOCKER_HOST (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) names.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (("build", "build from images/Dockerfile and build/wheels/ (made here where missing)"),
                       ("push", "push to REGISTRY"), ("list", "the images present, with size, user and healthcheck"),
                       ("smoke", "run each image read-only and check what it is for"),
                       ("wheels", "make again the wheels each image installs from (build/wheels/IMAGE)")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("names", nargs="*", metavar="IMAGE", help=f"any of {', '.join(IMAGES)} (default: all)")
        cmd.add_argument("--registry", default="", help="prefix of the image names, e.g. ghcr.io/acme")
        cmd.add_argument("--tag", default="0.1.0", help="image tag (default %(default)s)")
        if name == "build":
            cmd.add_argument("--base-image", default="python:3.11-slim", help="FROM image (default %(default)s)")
    return p


def run(args) -> int:
    """Do the command; EngineError for anything a person must act on."""
    names = list(dict.fromkeys(args.names or IMAGES))
    if args.command == "wheels":  # no engine needed
        build.wheels(ROOT, names, again=True)
        return 0
    if args.command == "push" and not args.registry:
        raise EngineError("push needs --registry (make push REGISTRY=ghcr.io/acme)")
    client = connect()
    refs = {name: reference(name, args.registry, args.tag) for name in names}
    if args.command == "build":
        buildargs = {"BASE_IMAGE": args.base_image, "VERSION": args.tag, "REVISION": _revision()}
        print(build.table(build.build_all(client, ROOT, names, args.registry, args.tag, buildargs)))
    elif args.command == "push":
        for ref in refs.values():
            push.push_one(client, ref)
    elif args.command == "list":
        print(build.table([build.describe(client, name, ref) for name, ref in refs.items()]))
    else:
        print("\n".join(smoke.smoke_all(client, refs)))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when done; 1 with the reason (one line, or a failed step's output) otherwise."""
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(IMAGES))
    if unknown:
        parser.error(f"unknown image {', '.join(unknown)}; the images are {', '.join(IMAGES)}")
    try:
        return run(args)
    except EngineError as exc:
        print(f"images {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the smoke test's containers are removed on the way out
        return 130
