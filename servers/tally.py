"""The runtime's per-process tallies of requests, durations and classes, and how they reach prometheus_client."""

from dataclasses import dataclass


@dataclass
class Tally:
    """Running totals since the process started; ``duration_sum`` is a one-element list so it is mutable in place."""

    requests: dict[str, int]
    buckets: list[int]
    duration_sum: list[float]
    classes: dict[str, int]

    def copy(self) -> "Tally":
        """A snapshot: each copy is one C call, which another thread cannot interleave with under the GIL."""
        return Tally(dict(self.requests), list(self.buckets), list(self.duration_sum), dict(self.classes))


def add_to_histogram(child, now: Tally, before: Tally) -> None:
    """Bulk observations: prometheus_client 0.26 has no public call for them. Its Histogram.observe
    (prometheus_client/metrics.py) adds the value to ``_sum`` and 1 to the one ``_buckets`` entry of the
    first bound at or above it; buckets are cumulated only when exported. The version is pinned, and
    tests/servers/test_metrics_tally.py compares a flushed histogram with one fed by ``observe``."""
    if grown := now.duration_sum[0] - before.duration_sum[0]:
        child._sum.inc(grown)
    for i, (n, m) in enumerate(zip(now.buckets, before.buckets, strict=True)):
        if n != m:
            child._buckets[i].inc(n - m)
