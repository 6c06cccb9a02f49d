"""A control plane whose pods are served (python -m cluster dataplane), the shipped k8s/ applied by make deploy,
and the load generator at 50 rps through the local gateway: upstream Argo decides every rollout here."""

from pathlib import Path

import pytest

from canary.local.harness import Harness, free_port_env
from cluster import controlplane
from cluster.dataplane import steady
from tests.cluster.conftest import HOST, REGISTRY, Cluster, settings_on_free_ports
from tests.waiting import wait_until


class Served(Cluster):
    """The control plane with its data plane: the harness runs the data plane and the load generator."""

    def __init__(self, settings, harness: Harness):
        super().__init__(settings)
        self.harness = harness

    def start_loadgen(self, json_path: Path) -> None:
        """50 rps through the gateway, half the answers' truth sent back, until stop_loadgen."""
        self.harness.start_loadgen(50, json_path, "--feedback-ratio", "0.5", "--seed", "7")
        self.harness.wait_traffic()

    def stop_loadgen(self) -> None:
        """Stop the load generator (it writes its --json summary as it exits)."""
        assert self.harness.stop_process("loadgen") == 0


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
        harness.start("data plane", ["-m", "cluster", "dataplane"], "is stable", timeout_s=240)
        wait_until(lambda: steady(cluster.get("rollout", "wine"), cluster.get("hpa", "wine")), 180,
                   "v1 served at the autoscaler's replicas")
        yield cluster
    finally:
        harness.stop()
        controlplane.down(settings)
