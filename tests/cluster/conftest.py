"""A real control plane (make cluster-tools) for the whole module: up once, down at the end, ports of its own."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from canary.local import ports
from cluster import controlplane
from cluster.settings import ClusterSettings

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "ml-canary"


REGISTRY, HOST = "registry.example/acme", "wine.acme.example"  # nothing pulls here: KWOK runs no container


class Cluster:
    """The running control plane, and what the tests do with it: make targets, kubectl, objects as JSON."""

    def __init__(self, settings: ClusterSettings):
        self.settings, self.env = settings, {**os.environ, **controlplane.env(settings)}

    def make(self, *args: str) -> subprocess.CompletedProcess:
        """A Makefile target as a user runs it, pointed at this control plane."""
        return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=300)

    def kubectl(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        """The built kubectl (and its Argo plugin) with this control plane's kubeconfig."""
        done = subprocess.run(["kubectl", *args], env=self.env, capture_output=True, text=True, timeout=120,
                              input=stdin, cwd=ROOT)
        if check and done.returncode:
            raise AssertionError(f"kubectl {' '.join(args)}: {done.stderr}")
        return done

    def get(self, kind: str, name: str | None = None, namespace: str = NAMESPACE) -> dict:
        """One object, or the list of a kind, as JSON."""
        return json.loads(self.kubectl("-n", namespace, "get", kind, *([name] if name else []), "-o", "json").stdout)

    def judge_said(self) -> str:
        """What the judge last answered, for a failure to say why; a control plane without a judge: nothing."""
        return ""


def settings_on_free_ports(run_dir: Path, serve_pods: bool = False) -> ClusterSettings:
    """A control plane's settings with ports of its own, so one runs beside a developer's."""
    seed = os.getpid() + (1000 if serve_pods else 0)
    etcd = ports.free_block(2, seed)
    free = iter(ports.free_block(1, seed + i) for i in range(1, 40))
    taken = {etcd, etcd + 1}
    pick = lambda: next(p for p in free if p not in taken and not taken.add(p))  # noqa: E731
    return ClusterSettings(run_dir=run_dir, etcd_port=etcd, apiserver_port=pick(), controller_manager_port=pick(),
                           scheduler_port=pick(), kwok_port=pick(), argo_healthz_port=pick(),
                           argo_metrics_port=pick(), serve_pods=serve_pods)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory) -> Cluster:
    """etcd, kube-apiserver, controller-manager, scheduler, KWOK and Argo Rollouts, on free ports."""
    settings = settings_on_free_ports(tmp_path_factory.mktemp("cluster"))
    controlplane.up(settings, log=lambda line: None)
    try:
        yield Cluster(settings)
    finally:
        controlplane.down(settings)


@pytest.fixture(scope="session")
def deployed(cluster: Cluster) -> Cluster:
    """``make deploy`` (the mlserver overlay) applied to the control plane, as on a cluster; later targets
    are run without the settings, as a person does, and must keep them."""
    done = cluster.make("deploy", f"REGISTRY={REGISTRY}", f"HOST={HOST}")
    assert done.returncode == 0, done.stderr
    return cluster
