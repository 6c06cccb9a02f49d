"""An AnalysisRun with Argo Rollouts' bookkeeping: measurements, limits, phases.

Per metric: Successful/Failed/Inconclusive measurements count toward ``count``
and reset the consecutive-error count; an Error does not count, and the next try
comes 10 s later whatever the interval. A metric is Failed when failed >
failureLimit, Inconclusive when inconclusive > inconclusiveLimit, Error when
consecutive errors > consecutiveErrorLimit (Error over Inconclusive over Failed
when several trip), Successful when count is reached. The run is the worst
completed metric; any Failed, Error or Inconclusive metric terminates the rest.
"""

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from canary.rollout import expr
from canary.rollout.interfaces import ProviderError  # noqa: F401 - where the providers and the tests find it
from canary.rollout.template import Metric

SUCCESSFUL, RUNNING, PENDING = "Successful", "Running", "Pending"
INCONCLUSIVE, ERROR, FAILED = "Inconclusive", "Error", "Failed"
_WORSE = {SUCCESSFUL: 0, RUNNING: 1, PENDING: 2, INCONCLUSIVE: 3, ERROR: 4, FAILED: 5}
ERROR_RETRY_S = 10.0
# Measurements kept per metric; the counts keep the rest (Argo's
# DefaultMeasurementHistoryLimit, analysis/analysis.go, garbageCollectMeasurements).
MEASUREMENT_HISTORY_LIMIT = 10
# Under a time-scale, no metric is asked more often than this (wall clock): as often as Argo
# asks any (durations.interval_s). The judge's evidence changes once a cell (JUDGE_CELL_S, 1 s):
# at 0.25 s, time-scale 4 asked it the same question four times over, and the controller, the
# judge and Prometheus spent 6% of a core on one rollout (python -m bench.cost).
MIN_SCALED_INTERVAL_S = 1.0


def run_name(rollout: str, target: str, step: int) -> str:
    """An analysis run's name: the Rollout's, the version under analysis and the step (1-based)."""
    return f"{rollout}-{target}-step{step}"


def worse_rank(phase: str) -> int:
    """How bad a phase is, for ranking: Successful lowest, Failed highest (Argo's order)."""
    return _WORSE[phase]


@dataclass
class Measurement:
    """One measurement of one metric: its phase, the provider's value and why."""

    phase: str
    value: object = None
    message: str = ""
    at: float = 0.0


@dataclass
class MetricState:
    """Argo's MetricResult: one metric's counts and measurements within a run."""

    name: str
    next_at: float
    phase: str = PENDING
    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0
    consecutive_error: int = 0
    message: str = ""
    measurements: list[Measurement] = field(default_factory=list)


def _condition(condition: str, result: object) -> bool:
    """utils/evaluate/evaluate.go, EvalCondition: the condition must yield a boolean."""
    value = expr.evaluate(condition, result)
    if not isinstance(value, bool):
        raise expr.EvaluationError(f"expected bool, but got {type(value).__name__} from {condition!r}")
    return value


def judge(metric: Metric, result: object) -> tuple[str, str]:
    """A measurement's phase from the conditions, as Argo's EvaluateResult decides it."""
    try:
        success = _condition(metric.success_condition, result) if metric.success_condition else False
        failure = _condition(metric.failure_condition, result) if metric.failure_condition else False
    except expr.EvaluationError as exc:
        return ERROR, str(exc)
    if not metric.success_condition and not metric.failure_condition:
        return SUCCESSFUL, ""
    if not metric.failure_condition:
        failure = not success
    elif not metric.success_condition:
        success = not failure
    if failure:
        return FAILED, ""
    return (SUCCESSFUL, "") if success else (INCONCLUSIVE, "neither condition holds")


def effective_count(metric: Metric) -> int | None:
    """How many measurements complete the metric; None: until the run ends."""
    if metric.count is not None:
        return metric.count
    return None if metric.interval_s else 1


def assess(metric: Metric, state: MetricState, terminating: bool) -> tuple[str, str]:
    """The metric's phase from its counts and limits (Argo's analysis.assessMetricStatus)."""
    if state.phase in (SUCCESSFUL, FAILED, ERROR, INCONCLUSIVE):
        return state.phase, state.message
    if not state.measurements:
        return (SUCCESSFUL, "run terminated") if terminating else (PENDING, "")
    phase, message = "", ""
    if state.failed > metric.failure_limit:
        phase, message = FAILED, f"failed ({state.failed}) > failureLimit ({metric.failure_limit})"
    if state.inconclusive > metric.inconclusive_limit:
        phase, message = INCONCLUSIVE, f"inconclusive ({state.inconclusive}) > inconclusiveLimit ({metric.inconclusive_limit})"
    if state.consecutive_error > metric.consecutive_error_limit:
        phase, message = ERROR, f"consecutiveErrors ({state.consecutive_error}) > consecutiveErrorLimit ({metric.consecutive_error_limit})"
    if phase:
        return phase, message
    count = effective_count(metric)
    if count is not None and state.count >= count:
        return SUCCESSFUL, f"count ({count}) reached"
    return (SUCCESSFUL, "run terminated") if terminating else (RUNNING, "")


def paced(metric: Metric, time_scale: float) -> Metric:
    """The metric as run under ``time_scale``: an interval that would fall under
    MIN_SCALED_INTERVAL_S is stretched to it and the count cut in proportion, so the
    metric lasts as long as scaled (at time-scale 1 nothing changes)."""
    if not metric.interval_s or metric.interval_s / time_scale >= MIN_SCALED_INTERVAL_S:
        return metric
    stretch = MIN_SCALED_INTERVAL_S * time_scale / metric.interval_s
    count = None if metric.count is None else max(1, math.ceil(metric.count / stretch))
    return replace(metric, interval_s=MIN_SCALED_INTERVAL_S * time_scale, count=count)


class AnalysisRun:
    """One run of the templates' metrics, args already substituted. Time is whatever clock the caller uses."""

    def __init__(self, name: str, metrics: list[Metric], started_at: float, time_scale: float = 1.0):
        self.name, self.time_scale = name, time_scale
        self.metrics = {m.name: paced(m, time_scale) for m in metrics}
        self.started_at, self.terminating = started_at, False
        self.states = {m.name: MetricState(m.name, started_at + m.initial_delay_s / time_scale) for m in metrics}

    def due(self, now: float) -> list[Metric]:
        """The metrics whose next measurement is due: measure them, then ``record`` each."""
        if self.terminating:
            return []
        return [m for name, m in self.metrics.items()
                if self.states[name].phase in (PENDING, RUNNING) and now >= self.states[name].next_at]

    def record(self, metric: Metric, m: Measurement, now: float) -> MetricState:
        """Count one measurement taken at ``now``; ``settle`` once all of a round are recorded."""
        state = self.states[metric.name]
        m.at = now
        state.measurements = [*state.measurements[-(MEASUREMENT_HISTORY_LIMIT - 1):], m]
        if m.phase == ERROR:
            state.error += 1
            state.consecutive_error += 1
        else:
            state.count += 1
            state.consecutive_error = 0
            setattr(state, m.phase.lower(), getattr(state, m.phase.lower()) + 1)
        wait = ERROR_RETRY_S if m.phase == ERROR else metric.interval_s
        step, due = (wait or 0) / self.time_scale, state.next_at
        # One interval after the previous was due, so the controller's tick does not
        # stretch every interval (Argo counts from the measurement's end, and its
        # requeue is coarser still); after an error, or when far behind, from now.
        state.next_at = due + step if m.phase != ERROR and 0 <= now - due < step else now + step
        state.phase, state.message = assess(metric, state, False)
        return state

    def settle(self) -> None:
        """A Failed, Error or Inconclusive metric ends the run: the others stop measuring."""
        if any(s.phase in (FAILED, ERROR, INCONCLUSIVE) for s in self.states.values()):
            self.terminate()

    def terminate(self) -> None:
        """Stop measuring; unfinished metrics are judged on what they measured so far."""
        self.terminating = True
        for name, metric in self.metrics.items():
            state = self.states[name]
            state.phase, state.message = assess(metric, state, True)

    @property
    def phase(self) -> str:
        """Running until every metric completes; then the worst metric's phase."""
        phases = [s.phase for s in self.states.values()]
        if any(p in (PENDING, RUNNING) for p in phases):
            return RUNNING
        return max(phases, key=_WORSE.__getitem__) if phases else SUCCESSFUL

    def worst(self) -> MetricState | None:
        """The metric that decided a run that did not succeed."""
        done = [s for s in self.states.values() if s.phase in (FAILED, ERROR, INCONCLUSIVE)]
        return max(done, key=lambda s: _WORSE[s.phase]) if done else None

    def to_dict(self) -> dict[str, Any]:
        """The run as JSON, saved with the controller's state."""
        return {"name": self.name, "started_at": self.started_at, "time_scale": self.time_scale,
                "terminating": self.terminating, "states": {k: asdict(v) for k, v in self.states.items()}}

    @classmethod
    def from_dict(cls, doc: dict[str, Any], metrics: list[Metric]) -> "AnalysisRun":
        """A saved run, resumed by a restarted controller."""
        run = cls(doc["name"], metrics, doc["started_at"], doc["time_scale"])
        run.terminating = doc["terminating"]
        for name, raw in doc["states"].items():
            raw = dict(raw)
            raw["measurements"] = [Measurement(**m) for m in raw["measurements"]]
            run.states[name] = MetricState(**raw)
        return run
