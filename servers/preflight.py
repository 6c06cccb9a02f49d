"""``python -m servers.preflight``: before ``make serve`` starts a runtime, is the artifact sound and are the ports free?

MLServer and the Seldon wrapper answer these failures with a traceback; this says
what is wrong and what to do in one line, and exits 1, before either starts.
"""

import argparse
import socket
import sys
from pathlib import Path

from models import artifacts


def port_free(port: int) -> bool:
    """True when ``port`` can be bound on every interface now (as the runtimes bind it)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def problems(version: str, artifact_root: Path, ports: list[int]) -> list[str]:
    """Every reason the runtime would fail to start, one sentence each."""
    found = []
    try:
        artifacts.load(Path(artifact_root) / version)
    except artifacts.ArtifactError as exc:
        found.append(f"{exc} (the demo's: retrain with 'python -m models.train --out {artifact_root}'; yours: "
                     "package it again with 'python -m models.package')")
    found += [f"port {p} is in use; stop what holds it or serve elsewhere" for p in ports if not port_free(p)]
    return found


def main(argv: list[str] | None = None) -> int:
    """One line and exit 1 when the runtime cannot start; silent and 0 when it can."""
    p = argparse.ArgumentParser(prog="python -m servers.preflight", description=__doc__.splitlines()[0])
    p.add_argument("--version", required=True)
    p.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    p.add_argument("--ports", type=int, nargs="*", default=[], help="ports the runtime will listen on")
    args = p.parse_args(argv)
    found = problems(args.version, args.artifacts, args.ports)
    if found:
        print(f"cannot serve {args.version}: {'; '.join(found)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
