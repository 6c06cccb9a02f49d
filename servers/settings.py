"""Settings for the fault switch, read once at start-up from ``FAULT_*`` variables."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_LATENCY_MS = 600_000.0


class FaultFields(BaseModel):
    """The fault switch's fields, bounds and defaults: settings, admin endpoint, control API and CLI derive from these."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    error_ratio: float = Field(0.0, ge=0.0, le=1.0)
    """Share of inference requests (0..1) that fail with HTTP 500 (gRPC INTERNAL)."""
    latency_ms: float = Field(0.0, ge=0.0, le=MAX_LATENCY_MS)
    """Delay added to every valid inference request, in milliseconds (at most ten minutes)."""
    latency_jitter_ms: float = Field(0.0, ge=0.0, le=MAX_LATENCY_MS)
    """Uniform random extra delay, 0..this many milliseconds, on top of latency_ms."""
    wrong_ratio: float = Field(0.0, ge=0.0, le=1.0)
    """Share of answers (0..1) replaced by a wrong class, still with HTTP 200."""
    unready: bool = False
    """Readiness fails while liveness and inference hold."""


class FaultSettings(BaseSettings, FaultFields):
    """Initial fault state and the admin token, from FAULT_* variables. All faults are off by default."""

    model_config = SettingsConfigDict(env_prefix="FAULT_", extra="ignore", use_attribute_docstrings=True)

    admin_token: str = ""
    """Bearer token the admin endpoint requires; empty disables runtime changes (403)."""
    admin_token_file: str = ""
    """Read the token from this file instead (a mounted Secret); a missing file disables changes."""
    state_file: str = ""
    """Where the live fault state is shared between worker processes; empty: a file in the temp dir."""
    seed: int | None = None
    """Seed for the fault dice, for reproducible runs; unset: fresh entropy."""
    recheck_s: float = Field(0.1, gt=0.0, le=1.0)  # the admin call waits this long: keep it well under callers' timeouts
    """How often each process looks for a change of the shared state; a change answers once all have seen it."""

    def resolved_admin_token(self) -> str:
        """The token from ``admin_token_file`` when set (and present), else ``admin_token``."""
        if self.admin_token_file:
            try:
                return Path(self.admin_token_file).read_text().strip()
            except FileNotFoundError:
                return ""
        return self.admin_token


class ModelSettings(BaseSettings):
    """How either runtime evaluates the model, from MODEL_* variables."""

    model_config = SettingsConfigDict(env_prefix="MODEL_", extra="ignore", protected_namespaces=())

    fast_path: bool = True
    """Evaluate a linear model as one matrix product; false: scikit-learn's estimator.predict, as for any other model."""
    threads: int = Field(1, ge=1)
    """Threads a model's own prediction may use (OpenMP, BLAS): a request carries a row or a few, so a pool of
    threads per call only contends with the other requests, and spins on a small machine's cores."""
    metrics_flush_s: float = Field(0.1, gt=0.0, le=10.0)
    """How often, in seconds, each process hands its per-request tallies to the metrics endpoint, in batches."""


class SeldonSettings(ModelSettings):
    """Which model the Seldon runtime serves, and where its admin endpoint listens."""

    name: str = ""
    """Model name, reported in metrics and answers; empty: the artifact's (wine for the demo)."""
    version: str = "v2"
    """Model version to serve: a folder under ``artifacts``."""
    artifacts: str = "artifacts"
    """Artifact root written by 'python -m models.train'; the version's folder is below it."""
    admin_port: int = 9500
    """Port of the fault admin endpoint (the wrapper has no custom routes of its own)."""
    admin_host: str = "0.0.0.0"
    """Address of the fault admin endpoint: every interface in a pod; 127.0.0.1 on a person's machine."""

