"""Write an MLServer model repository (settings.json + model-settings.json) for one version.

``python -m servers.repository --version v2 --out run/serve-v2`` then ``mlserver start run/serve-v2``.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from models import artifacts

MODEL_NAME = "wine"  # the demo's; a packaged model's name is in its metadata
IMPLEMENTATION = "servers.mlserver_runtime.CanaryModel"
DEFAULT_PORTS = {"http_port": 8080, "grpc_port": 8081, "metrics_port": 8082}


def write(
    out: Path,
    version: str,
    artifact_root: Path,
    *,
    workers: int = 0,
    ports: dict[str, int] | None = None,
    model_name: str | None = None,
    host: str = "0.0.0.0",
) -> Path:
    """Create ``out`` with server and model settings; return it. ``host``: every interface in a container or pod,
    127.0.0.1 on a person's machine (MLServer binds REST, gRPC and metrics to it). ``model_name``: the artifact's."""
    metadata = artifacts.read_metadata(Path(artifact_root) / version)  # fail early, naming the missing artifact
    model_name = model_name or metadata.name
    out = Path(out).resolve()
    model_dir = out / model_name
    model_dir.mkdir(parents=True, exist_ok=True)
    server = {
        **DEFAULT_PORTS,
        **(ports or {}),
        "parallel_workers": workers,
        "metrics_dir": str(out / ".metrics"),
        "host": host,
    }
    model = {
        "name": model_name,
        "implementation": IMPLEMENTATION,
        "parameters": {"uri": str((Path(artifact_root) / version).resolve()), "version": version},
    }
    (out / "settings.json").write_text(json.dumps(server, indent=2) + "\n")
    (model_dir / "model-settings.json").write_text(json.dumps(model, indent=2) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    """Write a model repository for one version, for make serve."""
    parser = argparse.ArgumentParser(
        prog="python -m servers.repository", description="Write an MLServer model repository."
    )
    parser.add_argument("--version", required=True, help="a version folder under --artifacts (v1, v2, ...)")
    parser.add_argument("--model-name", help="the name in /v2/models/NAME (default: the artifact's, wine for the demo)")
    parser.add_argument("--out", required=True, type=Path, help="folder to pass to 'mlserver start'")
    parser.add_argument("--artifacts", type=Path, default=Path(os.environ.get("MODELS_OUT", "artifacts")))
    parser.add_argument("--workers", type=int, default=0, help="MLServer parallel_workers (default 0)")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0, a container's; "
                        "127.0.0.1 keeps the runtime off the network)")
    for name, port in DEFAULT_PORTS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=port)
    args = parser.parse_args(argv)
    ports = {name: getattr(args, name) for name in DEFAULT_PORTS}
    try:
        out = write(args.out, args.version, args.artifacts, workers=args.workers, ports=ports,
                    model_name=args.model_name, host=args.host)
    except artifacts.ArtifactError as exc:
        print(f"servers.repository: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
