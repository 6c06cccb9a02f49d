"""The local control plane's settings, read once from ``CLUSTER_*`` variables."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from canary.local.settings import default_tools


class ClusterSettings(BaseSettings):
    """Folders and ports of the local control plane. Every field has a CLUSTER_ variable."""

    model_config = SettingsConfigDict(env_prefix="CLUSTER_", extra="ignore")

    run_dir: Path = Path("run/cluster")
    """Logs, the kubeconfig, keys, etcd's data and the pids of the running components."""
    tools_dir: Path = default_tools()
    """The binaries built by make cluster-tools."""
    etcd_port: int = 23790
    """etcd's client port (its peer port is the next one)."""
    apiserver_port: int = 16443
    """kube-apiserver's secure port."""
    controller_manager_port: int = 10357
    """kube-controller-manager's secure port (its health)."""
    scheduler_port: int = 10359
    """kube-scheduler's secure port (its health)."""
    kwok_port: int = 10347
    """KWOK's health and metrics port."""
    argo_healthz_port: int = 18080
    """The Argo Rollouts controller's health port."""
    argo_metrics_port: int = 18090
    """The Argo Rollouts controller's metrics port."""
    ready_timeout_s: float = 60.0
    """How long each component may take to become ready."""
    node: str = "kwok-node-0"
    """The name of the KWOK node pods are scheduled on."""
    serve_pods: bool = False
    """Pods become Ready only once the data plane serves them (python -m cluster dataplane); else at once."""

    def port_table(self) -> dict[str, tuple[int, str]]:
        """{what: (port, variable)} for every port the control plane binds."""
        names = {"etcd": "etcd_port", "etcd peers": None, "kube-apiserver": "apiserver_port",
                 "kube-controller-manager": "controller_manager_port", "kube-scheduler": "scheduler_port",
                 "kwok": "kwok_port", "argo-rollouts healthz": "argo_healthz_port",
                 "argo-rollouts metrics": "argo_metrics_port"}
        return {what: (self.etcd_port + 1, "CLUSTER_ETCD_PORT") if field is None
                else (getattr(self, field), f"CLUSTER_{field.upper()}") for what, field in names.items()}

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig of this control plane."""
        return self.run_dir / "kubeconfig"
