"""How to start one model version's runtime (MLServer or the Seldon wrapper) on given ports."""

import hashlib
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from canary.local.settings import StackSettings
from servers import repository


@dataclass(frozen=True)
class RuntimeSpec:
    """A runtime process to start: its command, environment, and the URLs that matter."""

    version: str
    cmd: list[str]
    env: dict[str, str]
    ready_url: str
    metrics_port: int
    admin_url: str  # base URL of /ml-canary/v1/faults


def revision(version: str, runtime: str, fault_env: dict[str, str]) -> str:
    """The revision of a runtime's template, as Argo's pod-template-hash is of a pod template: 10 hex digits.

    The same version, runtime and faults give the same revision; a faulty build of a version
    gets its own, so the analysis never mixes its traffic with a good build's.
    """
    template = json.dumps({"version": version, "runtime": runtime, "env": fault_env}, sort_keys=True)
    return hashlib.sha256(template.encode()).hexdigest()[:10]


def _binary(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(found).exists():
        raise FileNotFoundError(f"'{name}' not found next to {sys.executable} or on PATH: run 'make venv'")
    return found


def mlserver(version: str, base_port: int, folder: Path, artifacts: Path, workers: int, fault_env: dict[str, str],
             host: str = "127.0.0.1", model: str = repository.MODEL_NAME) -> RuntimeSpec:
    """How to start one version of ``model`` on MLServer: a model repository written for these ports, on ``host``."""
    ports = {"http_port": base_port, "grpc_port": base_port + 1, "metrics_port": base_port + 2}
    repo = repository.write(folder / "repo", version, artifacts, workers=workers, ports=ports, host=host,
                            model_name=model)
    return RuntimeSpec(
        version=version,
        cmd=[_binary("mlserver"), "start", str(repo)],
        env={**fault_env, "FAULT_STATE_FILE": str(folder / "faults.json")},
        ready_url=f"http://127.0.0.1:{base_port}/v2/models/{model}/ready",
        metrics_port=base_port + 2,
        admin_url=f"http://127.0.0.1:{base_port}",
    )


def seldon(version: str, base_port: int, folder: Path, artifacts: Path, seldon_bin: str, fault_env: dict[str, str],
           host: str = "127.0.0.1", model: str = repository.MODEL_NAME) -> RuntimeSpec:
    """How to start one version on the Seldon wrapper, in its own venv, listening on ``host`` (servers.seldon_bind)."""
    found = shutil.which(seldon_bin) or seldon_bin
    if not Path(found).exists():
        raise FileNotFoundError(f"{seldon_bin} not found: 'make venv' builds .venv-seldon, or set CANARY_SELDON_BIN")
    python = Path(found).with_name("python")  # the wrapper's venv, which runs servers.seldon_bind
    if not python.exists():
        raise FileNotFoundError(f"{python} not found beside {seldon_bin}: CANARY_SELDON_BIN must be a venv's "
                                "seldon-core-microservice ('make venv' builds .venv-seldon)")
    return RuntimeSpec(
        version=version,
        cmd=[str(python), "-m", "servers.seldon_bind", host, "servers.seldon_runtime.SeldonModel",
             "--http-port", str(base_port), "--grpc-port", str(base_port + 1), "--metrics-port", str(base_port + 2)],
        env={**fault_env, "FAULT_STATE_FILE": str(folder / "faults.json"), "MODEL_VERSION": version,
             "MODEL_ARTIFACTS": str(Path(artifacts).resolve()), "MODEL_ADMIN_PORT": str(base_port + 3),
             "MODEL_ADMIN_HOST": host, "MODEL_NAME": model,
             "PREDICTIVE_UNIT_ID": model, "PREDICTIVE_UNIT_IMAGE": f"ml-canary-seldon:{version}"},
        ready_url=f"http://127.0.0.1:{base_port}/health/status",
        metrics_port=base_port + 2,
        admin_url=f"http://127.0.0.1:{base_port + 3}",
    )


def for_stack(s: StackSettings, version: str, base_port: int, folder: Path, env: dict[str, str]) -> RuntimeSpec:
    """The stack's runtime (``s.runtime``) for one version on the ports from ``base_port``."""
    if s.runtime == "seldon":
        return seldon(version, base_port, folder, s.artifacts, s.seldon_bin, env, s.runtime_host, s.model)
    return mlserver(version, base_port, folder, s.artifacts, s.workers, env, s.runtime_host, s.model)
