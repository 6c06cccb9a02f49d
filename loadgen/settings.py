"""Load generator settings: ``LOADGEN_*`` variables, overridden by command-line flags."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The one-machine stack's gateway (canary/); on a cluster pass the ingress URL.
DEFAULT_TARGET = "http://127.0.0.1:8000"


class LoadgenSettings(BaseSettings):
    """Defaults for every flag; a flag on the command line wins."""

    model_config = SettingsConfigDict(env_prefix="LOADGEN_", extra="ignore")

    target: str = DEFAULT_TARGET
    """Base URL; the path follows the protocol."""
    rps: float = Field(50.0, ge=0)
    """Offered rate (requests per second); for a ramp, its end rate."""
    duration: str = ""
    """How long to run (30s, 5m); empty: until Ctrl-C."""
    protocol: str = "v2"
    """v2 (Open Inference Protocol) or seldon."""
    model: str = "wine"
    """Model name in the V2 path."""
    headers: list[str] = []
    """Extra request headers, 'Name: value'."""
    shape: str = "constant"
    """constant, ramp or steps."""
    ramp_from: float = 0.0
    """Ramp start rate."""
    ramp_over: str = "30s"
    """Ramp length."""
    steps: str = ""
    """Steps as RPS:DURATION,..."""
    timeout: str = "10s"
    """Per-request timeout."""
    max_in_flight: int = Field(1000, ge=1)
    """Safety cap on requests awaiting a response; sends past it are counted as failed."""
    seed: int = 1
    """Seed for payload choice."""
    invalid_ratio: float = Field(0.0, ge=0.0, le=1.0)
    """Share of deliberately malformed payloads."""
    batch_rows: int = Field(1, ge=1, le=100)
    """Rows per request."""
    json_path: str = Field("", validation_alias="LOADGEN_JSON")
    """Write the summary here as JSON."""
    fail_below: float | None = Field(None, ge=0.0, le=1.0)
    """Exit 1 when the overall success ratio ends below this."""
    quiet: bool = False
    """No live progress."""
    metrics_port: int | None = None
    """Serve the generator's own Prometheus metrics on this port."""
    feedback_ratio: float = Field(0.0, ge=0.0, le=1.0)
    """Share of answers whose true class is sent back as feedback."""
    feedback_delay: str = "0s"
    """How long after its answer a feedback is sent (labels arrive late)."""
    data: str = ""
    """Replay the rows of this file (CSV, Parquet, JSON lines) instead of the wine demo's."""
    label_column: str = ""
    """The file's column with each row's true class: scored, and sent back as feedback."""
    order: str = "file"
    """file (in the file's order) or shuffle (with --seed); either loops at the end."""
    missing: str = "skip"
    """Rows with a missing value: skip (counted) or send (the runtime answers 400)."""
    late_threshold_ms: float = Field(5.0, gt=0)
    """A send this far behind its intended time counts as late."""
