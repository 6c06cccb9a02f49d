"""The runtime's per-process tallies of requests, durations and classes, and how they reach prometheus_client."""

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Tally:
    """Running totals since the process started: requests by outcome, durations by bucket and their sum, classes."""

    requests: dict[str, int]
    buckets: list[int]
    duration_sum: float = 0.0
    classes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def empty(cls, outcomes: Iterable[str], buckets: int) -> "Tally":
        """Nothing counted yet."""
        return cls(dict.fromkeys(outcomes, 0), [0] * buckets)

    def copy(self) -> "Tally":
        """A snapshot: each copy is one C call, which another thread cannot interleave with under the GIL."""
        return Tally(dict(self.requests), list(self.buckets), self.duration_sum, dict(self.classes))


def add_to_histogram(child, now: Tally, before: Tally) -> None:
    """Bulk observations: prometheus_client 0.26 has no public call for them. Its Histogram.observe
    (prometheus_client/metrics.py) adds the value to ``_sum`` and 1 to the one ``_buckets`` entry of the
    first bound at or above it; buckets are cumulated only when exported. The version is pinned, and
    tests/servers/test_metrics_tally.py compares a flushed histogram with one fed by ``observe``."""
    if grown := now.duration_sum - before.duration_sum:
        child._sum.inc(grown)
    for i, (n, m) in enumerate(zip(now.buckets, before.buckets, strict=True)):
        if n != m:
            child._buckets[i].inc(n - m)
