"""The runtime's custom Prometheus metrics. Names and labels are the contract in docs/metrics.md."""

import functools

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

PREDICTIONS = "mlcanary_predictions"
REQUESTS = "mlcanary_inference_requests"
DURATION = "mlcanary_inference_duration_seconds"
FAULTS = "mlcanary_faults_injected"
MODEL_INFO = "mlcanary_model_info"
FEEDBACK = "mlcanary_feedback"

MODEL_LABELS = ("model_name", "model_version")
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

    def __init__(self, registry: CollectorRegistry):
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
        """The metrics of one model version, labels fixed."""
        return ModelMetrics(self, model_name, model_version)


@functools.cache
def for_registry(registry: CollectorRegistry) -> RuntimeMetrics:
    """One RuntimeMetrics per registry, so two models in one process share the families."""
    return RuntimeMetrics(registry)


class ModelMetrics:
    """The families with the model's labels filled in."""

    def __init__(self, families: RuntimeMetrics, model_name: str, model_version: str):
        self._families = families
        self._labels = (model_name, model_version)
        self._duration = families.duration.labels(*self._labels)
        self._requests = {
            outcome: families.requests.labels(*self._labels, outcome)
            for outcome in (OUTCOME_OK, OUTCOME_INVALID, OUTCOME_INJECTED)
        }
        self._predictions: dict[str, object] = {}

    def set_info(self, artifact_sha256: str, runtime: str) -> None:
        """The info gauge: which artifact and runtime serve."""
        self._families.info.labels(*self._labels, artifact_sha256, runtime).set(1)

    def observe(self, outcome: str, duration_s: float) -> None:
        """Count one request by outcome and time it."""
        self._requests[outcome].inc()
        self._duration.observe(duration_s)

    def count_predictions(self, labels: list[str]) -> None:
        """Count answered rows by class; children are cached, as ``labels()`` takes a lock."""
        if len(labels) == 1:
            self._prediction_child(labels[0]).inc()
            return
        for name in set(labels):
            self._prediction_child(name).inc(labels.count(name))

    def _prediction_child(self, name: str):
        child = self._predictions.get(name)
        if child is None:
            child = self._predictions[name] = self._families.predictions.labels(*self._labels, name)
        return child

    def count_fault(self, kind: str) -> None:
        """Count one injected fault by kind."""
        self._families.faults.labels(*self._labels, kind).inc()

    def count_feedback(self, correct: int, incorrect: int) -> None:
        """Count rows whose truth came back, both outcomes always present so a rate has a denominator."""
        for outcome, n in zip(FEEDBACK_OUTCOMES, (correct, incorrect), strict=True):
            self._families.feedback.labels(*self._labels, outcome).inc(n)
