"""The judge's settings, read once from ``JUDGE_*`` variables."""

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.names import NAME_PATTERN

# Errors fail a broken build fastest and weigh most; the slow model-quality tests share the rest.
ALPHA_SHARES = {"errors": 0.4, "latency": 0.25, "accuracy": 0.1, "class_mix": 0.1, "disagreement": 0.15}


def _read_token(path: str) -> str:
    """A token from a mounted Secret's file; empty when it cannot be read (the Secret not created)."""
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


class JudgeSettings(BaseSettings):
    """Where the counts come from, the statistics' defaults and the server's address."""

    model_config = SettingsConfigDict(env_prefix="JUDGE_", extra="ignore")

    prometheus_url: str = "http://127.0.0.1:9090"
    """Prometheus' HTTP API, where the per-revision counters are read."""
    source: Literal["envoy", "istio"] = "envoy"
    """Which proxy's metrics hold the counts: the local stack's Envoy, or Istio's sidecars on a cluster."""
    selector: str | None = None
    """Extra label matchers on every counter; unset: the source's own (Istio: destination side of Service MODEL)."""
    model: str = Field("wine", pattern=NAME_PATTERN)  # it goes into PromQL: a name, nothing to escape
    """The model's name, which is its Service's on a cluster: the Istio source counts that Service's requests."""
    host: str = "127.0.0.1"
    """Address to listen on (0.0.0.0 in a pod)."""
    port: int = Field(8097, ge=1, le=65535)
    """Port of GET /v1/judge."""
    alpha: float = Field(0.01, gt=0, lt=1)
    """Chance of a false fail of a healthy canary over its whole rollout, every test together, however often asked."""
    alpha_shares: dict[str, float] = Field(default_factory=lambda: dict(ALPHA_SHARES))
    """Each test's share of alpha (JSON); the shares sum to at most 1, so the union of the tests keeps alpha."""
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
    latency_margin_ms: float = Field(5.0, ge=0)
    """...and at least this many milliseconds beyond that latency (the quantile or the median estimated within
    its bucket), rounded up to a bucket, or the last bucket: a canary slower by less in its tail is not slow.
    A process on a shared CPU waits a scheduling slice, refills its caches after a pause, or serves fewer
    requests than stable's (one per revision on one machine; a canary pod just started): milliseconds
    that say nothing of the model. In the tests/cluster/dataplane runs a healthy v2 at 10% had 4-9% of
    its answers over stable's 3 ms p99 against stable's 1-3%, and 0-0.7% over 8 ms against 0-0.2%."""
    latency_recent_s: float = Field(60.0, ge=0)
    """Each cell is judged against the higher of the fixed bound and the same rule over stable's answers in
    this many seconds before it (its history's last ones at first): a machine or node that got busier after
    the bound was fixed slows a canary as much as stable, or more where the canary costs a little more CPU or
    has just started, and the margin is then kept beyond stable's tail as it is. It never lowers the bound,
    nor moves a question's latency_ms; 0 keeps the bound fixed."""
    latency_slo_ms: float = Field(250.0, gt=0)
    """The slow bound when stable has no latency data to take it from."""
    accuracy_absolute: float = Field(0.02, ge=0, le=1)
    """The canary's accuracy (from feedback) may be this much below stable's (0.02: two points)."""
    rate_prior_answers: int = Field(5000, ge=0)
    """Stable's 5xx and slow answers over its history, up to this many answers' worth, are the prior of its
    rates in the errors and latency tests' absolute part (0: Jeffreys' prior)."""
    accuracy_prior_answers: int = Field(1000, ge=0)
    """Stable's feedback from before the analysis, up to this many answers' worth, is the prior of its
    incorrect rate in the accuracy test (0: Jeffreys' prior, as for the canary)."""
    class_mix_relative: float = Field(0.1, ge=0)
    """Each class's share of the canary's predictions may differ from stable's by this factor (0.1: 10%)."""
    disagreement_absolute: float = Field(0.1, ge=0, lt=1)
    """Under mirroring, the canary may answer this share of requests differently from stable (v1 and v2: 0.062)."""
    cell_s: float = Field(1.0, gt=0)
    """Width of the cells the counts are kept in; the measured share of traffic is taken per cell (a few scrapes)."""
    settle_s: float = Field(1.5, ge=0)
    """How far behind the question the evidence ends: every target's scrape has reached it (a scrape interval and
    its duration; 1 s runtimes and 250 ms Envoy locally, 30 s with the cluster's 15 s scrapes)."""
    since_max_age_s: float = Field(86400.0, gt=0)
    """A question's ``since`` may be at most this long ago (422 otherwise): the analysis is rebuilt from it."""
    history_s: float = Field(600.0, gt=0)
    """Stable's history before the analysis that sets the latency bound and its prior rates."""
    retry_gap_s: float = Field(30.0, gt=0)
    """A question about a failed analysis after this long without one is a new attempt (a retried rollout).
    Longer than Argo waits between measurements of a metric in error (DefaultErrorRetryInterval, 10 s, argo-rollouts
    analysis/analysis.go): shorter, and each error's retry was a new attempt with a fresh grace, never five in a row."""
    route_slack: float = Field(0.2, gt=0, le=1)
    """The canary's share of a weighted step's requests may exceed the weight by this much (testers' header
    routes, retries) before the judge answers that the routes are not what the step set (409)..."""
    route_check_requests: int = Field(400, ge=1)
    """...once the step has this many requests (at 10%, the share's noise is then under 2 points)..."""
    route_check_s: float = Field(90.0, ge=0)
    """...and this many seconds of settled cells: copies of the step before that a lagging scrape brings late
    (15 s scrapes, 10 s to settle) are then a small part of it."""
    no_traffic_grace_s: float = Field(60.0, ge=0)
    """How long an analysis may see no canary request before the judge answers an error."""
    query_timeout_s: float = Field(5.0, gt=0)
    """Timeout of one Prometheus query."""
    max_analyses: int = Field(256, ge=1)
    """Analyses kept in memory; when all are running, a new question is refused (503) rather than evict one."""
    idle_s: float = Field(300.0, gt=0)
    """An analysis not asked for this long is idle and forgotten; one asked within it is running."""
    answers_token: str = ""
    """Bearer token POST /v1/answers requires (the runtimes' ANSWERS_TOKEN); empty: answers are refused (403)."""
    answers_token_file: str = ""
    """Read the token from this file instead (a mounted Secret)."""

    def resolved_answers_token(self) -> str:
        """The token from ``answers_token_file`` when set, else ``answers_token``."""
        return _read_token(self.answers_token_file) if self.answers_token_file else self.answers_token
    trace_points: int = Field(900, ge=1)
    """Answers per analysis kept in brief for GET /v1/analyses (15 minutes at one a second)."""

    @model_validator(mode="after")
    def _shares(self) -> "JudgeSettings":
        missing = sorted(set(ALPHA_SHARES) - set(self.alpha_shares))
        if missing or sum(self.alpha_shares.values()) > 1 + 1e-9 or min(self.alpha_shares.values()) <= 0:
            raise ValueError(f"alpha_shares must give each of {', '.join(ALPHA_SHARES)} a share > 0, "
                             f"summing to at most 1 (missing: {', '.join(missing) or 'none'})")
        return self
