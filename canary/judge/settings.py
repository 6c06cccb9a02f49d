"""The judge's settings, read once from ``JUDGE_*`` variables."""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class JudgeSettings(BaseSettings):
    """Where the counts come from, the statistics' defaults and the server's address."""

    model_config = SettingsConfigDict(env_prefix="JUDGE_", extra="ignore")

    prometheus_url: str = "http://127.0.0.1:9090"
    """Prometheus' HTTP API, where the per-revision counters are read."""
    source: Literal["envoy", "istio"] = "envoy"
    """Which proxy's metrics hold the counts: the local stack's Envoy, or Istio's sidecars on a cluster."""
    selector: str | None = None
    """Extra label matchers on every counter; unset: the source's own (Istio: destination side of Service wine)."""
    host: str = "127.0.0.1"
    """Address to listen on (0.0.0.0 in a pod)."""
    port: int = Field(8097, ge=1, le=65535)
    """Port of GET /v1/judge."""
    alpha: float = Field(0.01, gt=0, lt=1)
    """Chance of a false fail for the whole family of tests, however often it is asked."""
    concentration: float = Field(1.0, gt=0)
    """k of the Beta(k rho, k (1 - rho)) mixture: small k finds large harms in fewer events."""
    errors_relative: float = Field(0.5, ge=0)
    """The canary's error rate may be this much above stable's, as a fraction (0.5: 1.5 times)..."""
    errors_absolute: float = Field(0.005, ge=0, le=1)
    """...or this much above it as a difference of rates (0.005: half a percentage point)."""
    latency_relative: float = Field(1.0, ge=0)
    """The canary's share of slow answers may be this much above stable's, as a fraction..."""
    latency_absolute: float = Field(0.01, ge=0, le=1)
    """...or this much above it as a difference of shares."""
    latency_quantile: float = Field(0.99, gt=0, lt=1)
    """Slow means above stable's latency at this quantile, rounded up to a histogram bucket..."""
    latency_median_factor: float = Field(4.0, ge=1)
    """...or above this many times stable's median (its bucket's upper edge), where that is lower (a large
    value leaves the quantile alone)."""
    latency_slo_ms: float = Field(250.0, gt=0)
    """The slow bound when stable has no latency data to take it from."""
    accuracy_absolute: float = Field(0.02, ge=0, le=1)
    """The canary's accuracy (from feedback) may be this much below stable's (0.02: two points)."""
    accuracy_prior_answers: int = Field(1000, ge=0)
    """Stable's feedback from before the analysis, up to this many answers' worth, is the prior of its
    incorrect rate in the accuracy test (0: Jeffreys' prior, as for the canary)."""
    class_mix_relative: float = Field(0.1, ge=0)
    """Each class's share of the canary's predictions may differ from stable's by this factor (0.1: 10%)."""
    disagreement_absolute: float = Field(0.1, ge=0, lt=1)
    """Under mirroring, the canary may answer this share of requests differently from stable (v1 and v2: 0.062)."""
    no_traffic_grace_s: float = Field(60.0, ge=0)
    """How long an analysis may see no canary request before the judge answers an error."""
    query_timeout_s: float = Field(5.0, gt=0)
    """Timeout of one Prometheus query."""
    max_analyses: int = Field(256, ge=1)
    """Analyses kept in memory; the least recently asked is forgotten first."""
    trace_points: int = Field(900, ge=1)
    """Answers per analysis kept in brief for GET /v1/analyses (15 minutes at one a second)."""
