"""A control plane whose pods are served (python -m cluster dataplane), the shipped k8s/ applied by make deploy,
and the load generator at 50 rps through the local gateway: upstream Argo decides every rollout here."""

import json
from pathlib import Path

import httpx
import pytest

from canary.local.harness import Harness, free_port_env
from cluster import controlplane
from tests.cluster.conftest import HOST, REGISTRY, Cluster, settings_on_free_ports


class Served(Cluster):
    """The control plane with its data plane: the harness runs the data plane and the load generator."""

    def __init__(self, settings, harness: Harness):
        super().__init__(settings)
        self.harness = harness

    def judge_said(self) -> str:
        """The judge's last answer per analysis (its reasons, which Argo's jsonPath drops), for a failure."""
        try:
            found = httpx.get(f"http://127.0.0.1:{self.harness.settings.judge_port}/v1/analyses", timeout=5).json()
        except (httpx.HTTPError, ValueError) as exc:
            return f"judge: {exc}"
        return "\n".join(f"judge {a['canary']} vs {a['stable']} from {a['started_at']:.0f} to {a['at']:.0f}: "
                         f"{a['decision']}: {a['summary']} (bound: {a['latency_bound_origin']}; "
                         f"counter resets {a['counter_resets']})" for a in found["analyses"])


class Users:
    """The load generator at 50 rps through the gateway, half the answers' truth sent back."""

    def __init__(self, harness: Harness, json_path: Path):
        self.harness, self.json_path = harness, json_path
        harness.start_loadgen(50, json_path, "--feedback-ratio", "0.5", "--seed", "7")
        harness.wait_traffic()

    def answered(self) -> dict[str, dict]:
        """Stop it (it writes its --json summary as it exits); its answers per version that answered."""
        assert self.harness.stop_process("loadgen") == 0
        return json.loads(self.json_path.read_text())["by_version"]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    """Up, deployed, and the data plane serving v1 (the stable revision Argo brought up)."""
    run = tmp_path_factory.mktemp("served")
    settings = settings_on_free_ports(run / "cluster", serve_pods=True)
    controlplane.up(settings, log=lambda line: None)
    harness = Harness(run / "stack", {**free_port_env(), "CLUSTER_RUN_DIR": str(settings.run_dir)})
    try:
        cluster = Served(settings, harness)
        harness.env.update(cluster.env)
        done = cluster.make("deploy", f"REGISTRY={REGISTRY}", f"HOST={HOST}")
        assert done.returncode == 0, done.stderr
        # Steady: v1 at the autoscaler's replicas, which it sets a minute or so after the deploy.
        harness.start("data plane", ["-m", "cluster", "dataplane"], "ready for make rollout-v2", timeout_s=300)
        yield cluster
    finally:
        harness.stop()
        controlplane.down(settings)


@pytest.fixture
def users(served: Served, tmp_path) -> Users:
    """The users of one test; stopped at its end, also when it fails."""
    running = Users(served.harness, tmp_path / "lg.json")
    yield running
    served.harness.stop_process("loadgen")
