"""The per-request tallies reach the Prometheus series whole: by a scrape at once, by the flusher within its period."""

import random

from prometheus_client import CollectorRegistry, Histogram

from canary.polling import wait_until
from servers import metrics

LABELS = {"model_name": "wine", "model_version": "v2"}
# On the bounds, between them, below the first and above the last (the +Inf bucket).
_RNG = random.Random(7)
DURATIONS = [0.0, 0.0005, 0.0007, 0.001, 0.0049, 0.005, 0.3, 10.0, 12.5] + [_RNG.expovariate(200) for _ in range(500)]


def samples(registry: CollectorRegistry, name: str) -> dict:
    """Every sample of one family: (sample name, labels) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in registry.collect() if family.name == name for s in family.samples
            if not s.name.endswith("_created")}


def test_a_scrape_sees_the_same_histogram_as_prometheus_clients_own_observe():
    ours = CollectorRegistry()
    bound = metrics.RuntimeMetrics(ours, flush_s=3600).bind("wine", "v2")
    theirs = CollectorRegistry()
    reference = Histogram(metrics.DURATION, "reference", metrics.MODEL_LABELS, buckets=metrics.DURATION_BUCKETS,
                          registry=theirs).labels("wine", "v2")
    for d in DURATIONS:
        bound.observe(metrics.OUTCOME_OK, d)
        reference.observe(d)
    got, want = samples(ours, metrics.DURATION), samples(theirs, metrics.DURATION)
    assert got.keys() == want.keys()
    assert all(abs(got[k] - want[k]) < 1e-9 for k in want), {k: (got[k], want[k]) for k in want if got[k] != want[k]}


def test_requests_and_classes_are_counted_exactly_across_flushes():
    registry = CollectorRegistry()
    bound = metrics.RuntimeMetrics(registry, flush_s=3600).bind("wine", "v2")
    for i in range(30):
        bound.observe(metrics.OUTCOME_OK if i % 3 else metrics.OUTCOME_INVALID, 0.001)
        bound.count_predictions(["class_0"] if i % 2 else ["class_1", "class_2", "class_1"])
        if i % 7 == 0:
            bound.flush()  # a flush in between hands over only what grew since
    value = lambda name, **kw: registry.get_sample_value(name, {**LABELS, **kw})  # noqa: E731
    assert value("mlcanary_inference_requests_total", outcome="ok") == 20
    assert value("mlcanary_inference_requests_total", outcome="invalid_input") == 10
    assert value("mlcanary_predictions_total", predicted_class="class_0") == 15
    assert value("mlcanary_predictions_total", predicted_class="class_1") == 30
    assert value("mlcanary_predictions_total", predicted_class="class_2") == 15
    assert value("mlcanary_inference_duration_seconds_count") == 30


def test_without_workers_no_thread_flushes(monkeypatch):
    monkeypatch.delenv(metrics.MULTIPROC_DIR, raising=False)
    registry = CollectorRegistry()
    bound = metrics.RuntimeMetrics(registry, flush_s=0.01).bind("wine", "v2")
    bound.observe(metrics.OUTCOME_OK, 0.001)
    series = bound._requests[metrics.OUTCOME_OK]
    assert not wait_until(lambda: series._value.get() == 1, 0.3, every_s=0.01)  # nothing flushed it
    assert registry.get_sample_value("mlcanary_inference_requests_total", {**LABELS, "outcome": "ok"}) == 1  # a scrape does


def test_the_flusher_thread_hands_the_tallies_over_without_a_scrape(monkeypatch, tmp_path):
    monkeypatch.setenv(metrics.MULTIPROC_DIR, str(tmp_path))  # a worker: the scrape reads its files elsewhere
    registry = CollectorRegistry()
    bound = metrics.RuntimeMetrics(registry, flush_s=0.05).bind("wine", "v2")
    for _ in range(5):
        bound.observe(metrics.OUTCOME_OK, 0.001)
    series = bound._requests[metrics.OUTCOME_OK]  # the series itself, read without collecting (which would flush)
    assert wait_until(lambda: series._value.get() == 5, 5, every_s=0.01)
