"""Each component of the local control plane: its command line and the URL that says it is ready.

Flags follow what kwokctl's binary runtime gives the same binaries
(sigs.k8s.io/kwok pkg/kwokctl/components/*.go), trimmed to one machine: plain HTTP
to etcd on loopback, a static token for the admin, no leader election.
"""

from dataclasses import dataclass
from pathlib import Path

import yaml

from cluster.settings import ClusterSettings

SERVING = "ml-canary.io/serving"  # the annotation the data plane sets on a pod it serves (cluster/dataplane.py)


@dataclass(frozen=True)
class Component:
    """A process to start, and the URL that answers 200 once it is ready."""

    name: str
    command: list[str]
    ready_url: str
    env: dict[str, str] | None = None


def etcd(s: ClusterSettings) -> Component:
    """A single etcd member on loopback."""
    client, peer = f"http://127.0.0.1:{s.etcd_port}", f"http://127.0.0.1:{s.etcd_port + 1}"
    return Component("etcd", [str(s.tools_dir / "etcd"), "--name=node0", f"--data-dir={s.run_dir / 'etcd'}",
                              f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
                              f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
                              f"--initial-cluster=node0={peer}", "--quota-backend-bytes=2147483648",
                              "--log-level=warn"], f"{client}/health")


def apiserver(s: ClusterSettings) -> Component:
    """kube-apiserver with its default admission plugins (Pod Security among them) and RBAC."""
    run = s.run_dir
    return Component("kube-apiserver", [
        str(s.tools_dir / "kube-apiserver"), f"--etcd-servers=http://127.0.0.1:{s.etcd_port}",
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={s.apiserver_port}",
        f"--cert-dir={run / 'pki'}", f"--token-auth-file={run / 'tokens.csv'}", "--authorization-mode=RBAC",
        f"--service-account-key-file={run / 'sa.pub'}", f"--service-account-signing-key-file={run / 'sa.key'}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-cluster-ip-range=10.96.0.0/16", "--allow-privileged=true", "--enable-priority-and-fairness=false",
    ], f"https://127.0.0.1:{s.apiserver_port}/readyz")


def _kube_component(s: ClusterSettings, name: str, port: int, extra: list[str]) -> Component:
    kubeconfig = str(s.kubeconfig)
    return Component(name, [str(s.tools_dir / name), f"--kubeconfig={kubeconfig}",
                            f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
                            "--leader-elect=false", "--bind-address=127.0.0.1", f"--secure-port={port}", *extra],
                     f"https://127.0.0.1:{port}/healthz")


def controller_manager(s: ClusterSettings) -> Component:
    """kube-controller-manager: ReplicaSets, their pods' availability, service accounts, garbage collection."""
    return _kube_component(s, "kube-controller-manager", s.controller_manager_port,
                           [f"--service-account-private-key-file={s.run_dir / 'sa.key'}",
                            "--use-service-account-credentials=false"])


def scheduler(s: ClusterSettings) -> Component:
    """kube-scheduler: binds pods to the KWOK node."""
    return _kube_component(s, "kube-scheduler", s.scheduler_port, [])


def kwok(s: ClusterSettings, stages: Path) -> Component:
    """KWOK: the node's heartbeat and the pods' status, for nodes annotated kwok.x-k8s.io/node=fake."""
    return Component("kwok", [str(s.tools_dir / "kwok"), f"--kubeconfig={s.kubeconfig}", f"--config={stages}",
                              "--manage-all-nodes=false",
                              # The node's heartbeat is its Lease (the node-heartbeat-with-lease stage writes its
                              # status every 10 minutes): without one the node lifecycle controller marks the
                              # node NotReady after its grace period, and every pod on it unready.
                              "--node-lease-duration-seconds=40",
                              "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                              f"--server-address=127.0.0.1:{s.kwok_port}"],
                     f"http://127.0.0.1:{s.kwok_port}/healthz")


def stages(s: ClusterSettings) -> Path:
    """KWOK's stages from its module; with ``serve_pods``, its pod-ready stage also waits for SERVING."""
    upstream, gated = (s.tools_dir.parent / "kwok-stages").resolve() / "stages.yaml", s.run_dir / "kwok-stages.yaml"
    gated.unlink(missing_ok=True)  # also what the data plane asks: are this control plane's pods its to serve?
    if not s.serve_pods:
        return upstream
    docs = [d for d in yaml.safe_load_all(upstream.read_text()) if d]
    for doc in docs:
        if doc["metadata"]["name"] == "pod-ready":
            # ANDed with the stage's own expressions (sigs.k8s.io/kwok pkg/apis/v1alpha1 StageSelector).
            doc["spec"]["selector"]["matchAnnotations"] = {SERVING: "true"}
    gated.write_text(yaml.safe_dump_all(docs))
    return gated


def argo_rollouts(s: ClusterSettings) -> Component:
    """The Argo Rollouts controller, outside the cluster with the admin kubeconfig, as Argo's own e2e runs it."""
    return Component("argo-rollouts", [str(s.tools_dir / "rollouts-controller"), f"--kubeconfig={s.kubeconfig}",
                                       "--leader-elect=false", f"--healthzPort={s.argo_healthz_port}",
                                       f"--metricsPort={s.argo_metrics_port}", "--loglevel=info"],
                     f"http://127.0.0.1:{s.argo_healthz_port}/healthz", {"POD_NAMESPACE": "argo-rollouts"})


BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok",
            "rollouts-controller", "kubectl-argo-rollouts")
