"""Counting every request: per version, per status, latency in HDR histograms."""

from collections import Counter
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

# Microseconds, 1 µs to 10 min, 3 significant digits.
_LOWEST_US, _HIGHEST_US, _DIGITS = 1, 600_000_000, 3
UNKNOWN = "unknown"
TIMEOUT = "timeout"
CONNECT_ERROR = "connection_error"
CAPPED = "in_flight_cap"


def new_histogram() -> HdrHistogram:
    """An HDR histogram from 1 µs to 60 s at 3 significant digits."""
    return HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)


def is_success(status: int | str, valid: bool) -> bool:
    """A valid request wants a 2xx; a deliberately malformed one wants a 4xx."""
    if not isinstance(status, int):
        return False
    return 200 <= status < 300 if valid else 400 <= status < 500


def percentiles_ms(hist: HdrHistogram) -> dict[str, float]:
    """p50, p90, p99, p99.9 and max of a histogram, in milliseconds."""
    if hist.get_total_count() == 0:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
    return {
        "p50": hist.get_value_at_percentile(50) / 1000,
        "p90": hist.get_value_at_percentile(90) / 1000,
        "p99": hist.get_value_at_percentile(99) / 1000,
        "max": hist.get_max_value() / 1000,
    }


@dataclass
class Tally:
    """What one group of requests (all, or one version) saw."""

    requests: int = 0
    successes: int = 0
    statuses: Counter = field(default_factory=Counter)
    latency: HdrHistogram = field(default_factory=new_histogram)
    service: HdrHistogram = field(default_factory=new_histogram)

    def add(self, status, success: bool, latency_us: int, service_us: int) -> None:
        """Count one response."""
        self.requests += 1
        self.successes += success
        self.statuses[str(status)] += 1
        self.latency.record_value(max(_LOWEST_US, min(latency_us, _HIGHEST_US)))
        self.service.record_value(max(_LOWEST_US, min(service_us, _HIGHEST_US)))

    @property
    def success_ratio(self) -> float:
        """Share of requests that succeeded."""
        return self.successes / self.requests if self.requests else 0.0

    def summary(self, elapsed_s: float) -> dict:
        """This version's counts and percentiles for the report."""
        return {
            "requests": self.requests,
            "achieved_rps": round(self.requests / elapsed_s, 3) if elapsed_s else 0.0,
            "success_ratio": round(self.success_ratio, 6),
            "status_codes": dict(sorted(self.statuses.items())),
            "latency_ms": percentiles_ms(self.latency),
            "service_time_ms": percentiles_ms(self.service),
        }


@dataclass
class Stats:
    """All requests, by version, plus the current one-second window for live progress."""

    total: Tally = field(default_factory=Tally)
    versions: dict[str, Tally] = field(default_factory=dict)
    window: dict[str, Tally] = field(default_factory=dict)
    scheduled: int = 0
    late_sends: int = 0
    max_send_lag_ms: float = 0.0
    capped: int = 0
    invalid_sent: int = 0
    sends_by_second: list[int] = field(default_factory=list)

    def count_send(self, second: int) -> None:
        """Sends per second of the run, to show how steady the offered rate was."""
        while len(self.sends_by_second) <= second:
            self.sends_by_second.append(0)
        self.sends_by_second[second] += 1

    def record(self, version: str, status, valid: bool, latency_us: int, service_us: int) -> bool:
        """Count one response, overall and for the version that answered."""
        success = is_success(status, valid)
        self.total.add(status, success, latency_us, service_us)
        for group in (self.versions, self.window):
            tally = group.get(version)
            if tally is None:
                tally = group[version] = Tally()
            tally.add(status, success, latency_us, service_us)
        return success

    def take_window(self) -> dict[str, Tally]:
        """The counts since the last call, for the live progress line."""
        window, self.window = self.window, {}
        return window
