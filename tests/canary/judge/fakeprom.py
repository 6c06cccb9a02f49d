"""A Prometheus reader over samples the test writes: scrapes at set times, a failed scrape, a reset, lag.

It answers the judge's two reads as Prometheus does: the raw samples of each series in
the window up to a time (a failed scrape leaves no sample), and whether a revision has
a target. Traffic is simulated per second with seeded draws, so the unit tests of the
judge's counting run in milliseconds and can replay a rollout's conditions exactly.
"""

import math

import numpy as np

RQ, BUCKET = "envoy_cluster_upstream_rq_xx", "envoy_cluster_upstream_rq_time_bucket"
FEEDBACK, PREDICTIONS = "mlcanary_feedback_total", "mlcanary_predictions_total"
PAIRS, DISAGREEMENTS = "mlcanary_judge_pairs_total", "mlcanary_judge_pair_disagreements_total"
EDGES = (1.0, 2.0, 4.0, 8.0, 16.0, 250.0, math.inf)


class FakeReader:
    """Counters per series, scraped into samples at the times the test chooses."""

    epoch = 0  # one Prometheus: its queries never move to another replica

    def __init__(self):
        self.values: dict[tuple, float] = {}  # the live counters, as the proxy holds them
        self.series: dict[tuple, list[tuple[float, float]]] = {}  # what Prometheus stored
        self.reads = 0

    def add(self, revision: str, requests: float = 0, errors: float = 0, latencies_ms=(), **labels) -> None:
        """Serve requests: some 5xx, and answers of these latencies (each counted in the buckets)."""
        code = lambda c: (RQ, (("envoy_response_code_class", c), ("revision", revision)))  # noqa: E731
        self._inc(code("2"), requests - errors)
        self._inc(code("5"), errors)
        for le in EDGES:
            below = sum(1 for v in latencies_ms if v <= le)
            self._inc((BUCKET, (("le", "+Inf" if le == math.inf else f"{le:g}"), ("revision", revision))), below)

    def add_feedback(self, revision: str, incorrect: float, feedback: float) -> None:
        """Feedback by outcome, as a runtime counts it."""
        for outcome, n in (("incorrect", incorrect), ("correct", feedback - incorrect)):
            self._inc((FEEDBACK, (("outcome", outcome), ("revision", revision))), n)

    def add_pairs(self, revision: str, peer: str, pairs: float, disagreements: float = 0) -> None:
        """Answers of two revisions joined at the judge, as it exports them (the revisions in sorted order)."""
        labels = (("peer", max(revision, peer)), ("revision", min(revision, peer)))
        self._inc((PAIRS, labels), pairs)
        self._inc((DISAGREEMENTS, labels), disagreements)

    def add_predictions(self, revision: str, by_class: dict[str, float]) -> None:
        """Predictions by class."""
        for name, n in by_class.items():
            self._inc((PREDICTIONS, (("predicted_class", name), ("revision", revision))), n)

    def reset(self, revision: str) -> None:
        """The revision's process restarted: every counter of it back to 0."""
        for key in self.values:
            if dict(key[1]).get("revision") == revision:
                self.values[key] = 0.0

    def scrape(self, at: float, skip: str | None = None) -> None:
        """Prometheus stores every counter's value at ``at`` (a revision's target skipped: a failed scrape)."""
        for key, value in self.values.items():
            if skip is None or dict(key[1]).get("revision") != skip:
                self.series.setdefault(key, []).append((at, value))

    def _inc(self, key: tuple, n: float) -> None:
        self.values[key] = self.values.get(key, 0.0) + n

    def samples(self, metric: str, selector: str, revisions, end: float, window_s: float) -> dict:
        """The raw samples in (end - window_s, end], as a range selector returns them."""
        self.reads += 1
        out = {}
        for (name, labels), points in self.series.items():
            if name == metric and dict(labels).get("revision") in revisions:
                kept = [p for p in points if end - window_s < p[0] <= end]
                if kept:
                    out[name, labels] = kept
        return out

    def known(self, revision: str) -> bool:
        """Whether any series of the revision was ever scraped."""
        return any(dict(k[1]).get("revision") == revision for k in self.series)


def latencies(rng: np.random.Generator, n: int, median_ms: float) -> np.ndarray:
    """n answer times around a median, log-normal."""
    return median_ms * np.exp(rng.normal(0, 0.5, n))


class ReplicaPair(FakeReader):
    """An HA pair: replica B scrapes the same counters half a second earlier and stamps them with a clock
    0.8 s ahead; queries go to one replica until ``fail_over`` moves them (PrometheusReader's pinning)."""

    def __init__(self):
        super().__init__()
        self.b = FakeReader()
        self.reading_b = False
        self._before: dict = {}

    def _inc(self, key: tuple, n: float) -> None:
        self._before.setdefault(key, self.values.get(key, 0.0))  # B's scrape sees the counter before this second
        super()._inc(key, n)

    def scrape(self, at: float, skip: str | None = None) -> None:
        """Both replicas scrape; B's samples read a moment earlier, stamped later."""
        self.b.values = {k: self._before.get(k, v) for k, v in self.values.items()}
        self.b.scrape(at + 0.3, skip)
        self._before = {}
        super().scrape(at, skip)

    def fail_over(self) -> None:
        """Replica A stopped answering: every query now goes to B."""
        self.reading_b = True
        self.epoch += 1

    def samples(self, metric: str, selector: str, revisions, end: float, window_s: float) -> dict:
        """The samples of the replica the queries go to."""
        if self.reading_b:
            return self.b.samples(metric, selector, revisions, end, window_s)
        return super().samples(metric, selector, revisions, end, window_s)
