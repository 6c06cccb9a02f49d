"""The controller's metrics, under Argo Rollouts' names and labels where Argo has them: one Grafana board
reads either engine.

``rollout_info``, ``analysis_run_info``, ``analysis_run_metric_phase``, ``rollout_reconcile`` and
``rollout_reconcile_error`` are Argo's (argo-rollouts' metrics package: ``MetricRolloutInfo``,
``MetricAnalysisRunMetricPhase``, ``newReconcileHistogram`` and its default buckets). The step, the
canary's weight and the drift repairs have no Argo series (its CLI reads them from the object) and
carry this project's prefix. Values are read from the controller's state at each scrape.
"""

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from canary.rollout import analysis
from canary.rollout.status import RolloutState

if TYPE_CHECKING:
    from canary.rollout.controller import Controller

PHASES = (analysis.PENDING, analysis.RUNNING, analysis.SUCCESSFUL, analysis.FAILED, analysis.ERROR,
          analysis.INCONCLUSIVE)
RECONCILE_BUCKETS = (0.01, 0.15, 0.25, 0.5, 1)  # Argo's DefaultReconcileHistogramBuckets
TRAFFIC_ROUTER = "Envoy"  # rollout_info's traffic_router: Istio on a cluster, the stack's Envoy here


class ControllerMetrics:
    """The registry the control API serves on /metrics, with the loop's reconcile timing and errors."""

    def __init__(self, ctrl: "Controller", namespace: str):
        self.registry = CollectorRegistry()
        labels = {"namespace": namespace, "name": ctrl.spec.name}
        self.reconcile = Histogram("rollout_reconcile", "Rollout reconciliation performance.", list(labels),
                                   buckets=RECONCILE_BUCKETS, registry=self.registry).labels(**labels)
        self.errors = 0  # reconcile passes that raised: rollout_reconcile_error, read by the collector
        self.registry.register(RolloutCollector(ctrl, labels, lambda: self.errors))

    def failed(self) -> None:
        """Count a reconcile pass that raised."""
        self.errors += 1


class RolloutCollector:
    """The rollout's phase, step, weight and analysis as gauges, read under the controller's lock at each scrape."""

    def __init__(self, ctrl: "Controller", labels: dict[str, str], errors: Callable[[], int] = lambda: 0):
        self.ctrl, self.labels, self.errors = ctrl, labels, errors
        self.kinds = {m.name: m.source.kind for t in ctrl.spec.templates.values() for m in t.metrics}

    def collect(self) -> Iterator[Metric]:
        """prometheus_client's collector interface."""
        with self.ctrl.lock:
            s, run, repairs = self.ctrl.state, self.ctrl.run, self.ctrl.looks.repairs
            phases = {m: st.phase for m, st in run.states.items()} if run else _last_verdicts(s.history)
            run_name = run.name if run else _last_run_name(self.ctrl.spec.name, s)
            phase, step, weight = s.phase, s.step, s.weight
            run_phase = run.phase if run else None
        names, values = list(self.labels), list(self.labels.values())
        yield _gauge("rollout_info", "Information about rollout.", names + ["strategy", "traffic_router", "phase"],
                     [(values + ["canary", TRAFFIC_ROUTER, phase], 1)])
        yield _gauge("mlcanary_rollout_step", "The index of the step the rollout is at (0: the first).", names,
                     [(values, step)])
        yield _gauge("mlcanary_rollout_canary_weight", "The canary's share of traffic, 0..100.", names, [(values, weight)])
        drift = CounterMetricFamily("mlcanary_rollout_drift_repairs", "Differences between the platform and the "
                                    "saved state that the controller repaired.", labels=names)
        drift.add_metric(values, repairs)
        yield drift
        # Argo's counter has no _total (client_golang keeps the name as given); prometheus_client's counters
        # always have one, so it is served untyped under Argo's name (rate() reads either).
        errors = Metric("rollout_reconcile_error", "Error occurring during the rollout", "unknown")
        errors.add_sample("rollout_reconcile_error", dict(self.labels), self.errors())
        yield errors
        if run_name:
            yield from _analysis(run_name, run_phase, phases, self.kinds, values)


def _analysis(run_name: str, run_phase: str | None, phases: dict[str, str], kinds: dict[str, str],
              values: list[str]) -> Iterator[Metric]:
    """analysis_run_info and analysis_run_metric_phase: one series per phase, 1 for the metric's current one."""
    names = ["namespace", "name"]
    run_values = [values[0], run_name]
    overall = run_phase or max(phases.values(), key=analysis.worse_rank, default=analysis.SUCCESSFUL)
    yield _gauge("analysis_run_info", "Information about analysis run.", names + ["phase"], [(run_values + [overall], 1)])
    rows = [(run_values + [metric, kinds.get(metric, ""), "false", p], int(p == current))
            for metric, current in sorted(phases.items()) for p in PHASES]
    yield _gauge("analysis_run_metric_phase", "Information on the duration of a specific metric in the Analysis Run",
                 names + ["metric", "type", "dry_run", "phase"], rows)


def _gauge(name: str, text: str, labels: list[str], rows: Sequence[tuple[list[str], float]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, text, labels=labels)
    for label_values, value in rows:
        family.add_metric(label_values, value)
    return family


def _last_verdicts(history: list[dict[str, Any]]) -> dict[str, str]:
    """The metric verdicts of the rollout's last concluded analysis, as its history keeps them."""
    return next((h["verdicts"] for h in reversed(history) if h.get("kind") == "analysis"), {})


def _last_run_name(rollout: str, s: RolloutState) -> str | None:
    last = next((h for h in reversed(s.history) if h.get("kind") == "analysis"), None)
    return analysis.run_name(rollout, s.target or s.stable, last["step"]) if last else None
