"""Seldon runtime tests run inside the seldon venv (make test does it: .venv-seldon)."""

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from canary.local import procs
from tests.conftest import TOKEN


@dataclass
class SeldonServer:
    process: procs.Process
    http: str
    grpc: str
    metrics: str
    admin: str


def microservice_binary() -> str:
    found = shutil.which("seldon-core-microservice") or str(Path(sys.executable).with_name("seldon-core-microservice"))
    if not Path(found).exists():
        pytest.fail("seldon-core-microservice is missing: run these tests through 'make test' (it builds .venv-seldon)")
    return found


@pytest.fixture(scope="module")
def start_seldon(artifact_root, tmp_path_factory):
    """Start real ``seldon-core-microservice`` processes; stop them when the module ends."""
    started: list[procs.Process] = []

    def start(version: str, **fault_env: str) -> SeldonServer:
        http, grpc, metrics, admin = (procs.free_port() for _ in range(4))
        folder = tmp_path_factory.mktemp(f"seldon-{version}")
        env = {
            "MODEL_ARTIFACTS": str(artifact_root), "MODEL_VERSION": version, "MODEL_ADMIN_PORT": str(admin),
            "FAULT_ADMIN_TOKEN": TOKEN, "FAULT_STATE_FILE": str(folder / "faults.json"),
            "PREDICTIVE_UNIT_ID": "wine", "PREDICTIVE_UNIT_IMAGE": f"ml-canary-seldon:{version}",
            **fault_env,
        }
        cmd = [microservice_binary(), "servers.seldon_runtime.SeldonModel", "--http-port", str(http),
               "--grpc-port", str(grpc), "--metrics-port", str(metrics)]
        proc = procs.start(cmd, folder / "log", env, cwd=folder)
        started.append(proc)
        server = SeldonServer(proc, f"http://127.0.0.1:{http}", f"127.0.0.1:{grpc}",
                              f"http://127.0.0.1:{metrics}", f"http://127.0.0.1:{admin}")
        procs.wait_http_ok(proc, f"{server.http}/health/status")
        procs.wait_http_ok(proc, f"{server.admin}/ml-canary/v1/faults")
        return server

    yield start
    for proc in started:
        proc.stop()
