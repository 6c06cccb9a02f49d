"""The runtime's custom Prometheus metrics. Names and labels are the contract in docs/metrics.md.

Every request adds to plain per-process tallies, not to prometheus_client's series: those
take a lock per increment and walk the histogram's buckets in Python, about 2.4 µs of the
runtime's 4 µs a request (``python -m bench.percall``). Every scrape of this process's
registry first adds what the tallies grew by to the real series, so a scrape misses
nothing. With parallel workers the scrape reads the workers' files from another process,
so each worker also runs a thread that flushes every ``MODEL_METRICS_FLUSH_S`` (0.1 s).
Without workers there is no such thread: a server sharing its core with others paid about
5% more CPU a request for it (``python -m bench.runtime``, together, in docs/benchmarks.md).
"""

import bisect
import collections
import functools
import logging
import math
import os
import threading
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from servers.settings import ModelSettings
from servers.tally import Tally, add_to_histogram

PREDICTIONS = "mlcanary_predictions"
REQUESTS = "mlcanary_inference_requests"
DURATION = "mlcanary_inference_duration_seconds"
FAULTS = "mlcanary_faults_injected"
MODEL_INFO = "mlcanary_model_info"
FEEDBACK = "mlcanary_feedback"

MODEL_LABELS = ("model_name", "model_version")
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"  # set by MLServer when it runs parallel workers (prometheus_client's mode)
OUTCOME_OK = "ok"
OUTCOME_INVALID = "invalid_input"
OUTCOME_INJECTED = "injected_error"
FEEDBACK_OUTCOMES = ("correct", "incorrect")
# Fine at the low end: an unfaulted prediction takes about a millisecond.
DURATION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)


class RuntimeMetrics:
    """The metric families, registered once per registry."""

    def __init__(self, registry: CollectorRegistry, flush_s: float = 0.1):
        self.flush_s = flush_s
        self.bound: list[ModelMetrics] = []
        # Registered before the families: a scrape flushes the tallies, then reads the series.
        registry.register(_FlushFirst(self))
        self.predictions = Counter(
            PREDICTIONS, "Rows answered, by predicted class.",
            (*MODEL_LABELS, "predicted_class"), registry=registry,
        )
        self.requests = Counter(
            REQUESTS, "Inference requests handled, by outcome (ok, invalid_input, injected_error).",
            (*MODEL_LABELS, "outcome"), registry=registry,
        )
        self.duration = Histogram(
            DURATION, "Inference time inside the runtime, injected latency included.",
            MODEL_LABELS, buckets=DURATION_BUCKETS, registry=registry,
        )
        self.faults = Counter(
            FAULTS, "Faults injected on purpose, by kind (error, latency, wrong_prediction).",
            (*MODEL_LABELS, "kind"), registry=registry,
        )
        self.feedback = Counter(
            FEEDBACK, "Answered rows whose true class came back as feedback, by outcome (correct, incorrect).",
            (*MODEL_LABELS, "outcome"), registry=registry,
        )
        # "max" keeps one series across MLServer's worker processes instead of one per pid.
        self.info = Gauge(
            MODEL_INFO, "Always 1; labels say which artifact is served.",
            (*MODEL_LABELS, "artifact_sha256", "runtime"), registry=registry,
            multiprocess_mode="max",
        )

    def bind(self, model_name: str, model_version: str) -> "ModelMetrics":
        """The metrics of one model version, labels fixed; flushed by scrapes, and by a thread in a worker."""
        bound = ModelMetrics(self, model_name, model_version)
        self.bound.append(bound)
        # A scrape reads this worker's files from another process. MLServer spawns its workers (no fork),
        # so each starts its own thread here.
        if len(self.bound) == 1 and os.environ.get(MULTIPROC_DIR):
            _start_flusher(self)
        return bound

    def flush(self) -> None:
        """Hand every bound model's tallies to its series."""
        for bound in self.bound:
            bound.flush()


class _FlushFirst:
    """A collector with no series of its own: collecting it flushes the tallies."""

    def __init__(self, families: RuntimeMetrics):
        self._families = families

    def collect(self) -> list:
        self._families.flush()
        return []


def _start_flusher(families: RuntimeMetrics) -> None:
    def flush_forever() -> None:
        while True:
            time.sleep(families.flush_s)
            try:
                families.flush()
            except Exception:  # a dead flusher would freeze this worker's series: say so, go on
                logging.getLogger("ml_canary.metrics").exception("flushing the metric tallies failed")

    threading.Thread(target=flush_forever, name="metrics-flush", daemon=True).start()


@functools.cache
def for_registry(registry: CollectorRegistry) -> RuntimeMetrics:
    """One RuntimeMetrics per registry, so two models in one process share the families."""
    return RuntimeMetrics(registry, ModelSettings().metrics_flush_s)


class ModelMetrics:
    """The families with the model's labels filled in; requests, durations and classes go through tallies.

    One writer: MLServer calls ``observe`` and ``count_predictions`` on its event loop's
    thread, so a plain ``+=`` loses nothing; the flusher only reads, and a lock keeps two
    flushes (the thread's and a scrape's) from handing the same growth over twice.
    """

    def __init__(self, families: RuntimeMetrics, model_name: str, model_version: str):
        self._families = families
        self._labels = (model_name, model_version)
        self._duration = families.duration.labels(*self._labels)
        self._requests = {
            outcome: families.requests.labels(*self._labels, outcome)
            for outcome in (OUTCOME_OK, OUTCOME_INVALID, OUTCOME_INJECTED)
        }
        self._bounds = (*DURATION_BUCKETS, math.inf)
        self._tally = Tally.empty(self._requests, len(self._bounds))
        self._flushed = Tally.empty(self._requests, len(self._bounds))
        self._flush_lock = threading.Lock()

    def set_info(self, artifact_sha256: str, runtime: str) -> None:
        """The info gauge: which artifact and runtime serve."""
        self._families.info.labels(*self._labels, artifact_sha256, runtime).set(1)

    def observe(self, outcome: str, duration_s: float) -> None:
        """Count one request by outcome and time it."""
        tally = self._tally
        tally.requests[outcome] += 1
        tally.buckets[bisect.bisect_left(self._bounds, duration_s)] += 1  # le: the first bound >= the value
        tally.duration_sum += duration_s

    def count_predictions(self, labels: list[str]) -> None:
        """Count answered rows by class."""
        classes = self._tally.classes
        if len(labels) == 1:
            classes[labels[0]] = classes.get(labels[0], 0) + 1
            return
        for name, n in collections.Counter(labels).items():
            classes[name] = classes.get(name, 0) + n

    def flush(self) -> None:
        """Add what the tallies grew by since the last flush to the Prometheus series."""
        with self._flush_lock:
            now = self._tally.copy()
            for outcome, n in now.requests.items():
                if grown := n - self._flushed.requests[outcome]:
                    self._requests[outcome].inc(grown)
            add_to_histogram(self._duration, now, self._flushed)
            for name, n in now.classes.items():
                if grown := n - self._flushed.classes.get(name, 0):
                    self._families.predictions.labels(*self._labels, name).inc(grown)
            self._flushed = now

    def count_fault(self, kind: str) -> None:
        """Count one injected fault by kind."""
        self._families.faults.labels(*self._labels, kind).inc()

    def count_feedback(self, correct: int, incorrect: int) -> None:
        """Count rows whose truth came back, both outcomes always present so a rate has a denominator."""
        for outcome, n in zip(FEEDBACK_OUTCOMES, (correct, incorrect), strict=True):
            self._families.feedback.labels(*self._labels, outcome).inc(n)

