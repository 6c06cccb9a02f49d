"""The analysis step: its AnalysisTemplates run as one AnalysisRun; the step ends with the run's verdict.

The step never queries under the controller's lock: it returns the metrics that are due
(``Measure``), the controller measures them unlocked and hands them back (``Measured``).
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import TypeAdapter

from canary.rollout import analysis
from canary.rollout.analysis import INCONCLUSIVE, SUCCESSFUL, AnalysisRun, Measurement
from canary.rollout.kinds.base import Measure, Measured, Outcome, Parsing, Progress, Step
from canary.rollout.schema import AnalysisBody, SpecError, validated
from canary.rollout.template import Arg, Metric, parse_args
from canary.rollout.wording import describe, fmt_s

if TYPE_CHECKING:
    from canary.rollout.controller import Controller

FAST_METRIC_S = 10  # metrics measured more often than this log only their failures
INCONCLUSIVE_PAUSE = "InconclusiveAnalysisRun"  # Argo's pause reason
_ANALYSIS = TypeAdapter(AnalysisBody)


@dataclass(frozen=True)
class Analysis(Step):
    """Run these AnalysisTemplates; the step ends with their verdict."""

    key: ClassVar[str] = "analysis"
    holds: ClassVar[bool] = True
    templates: tuple[str, ...]
    args: tuple[Arg, ...] = ()

    @classmethod
    def parse(cls, body: Any, ctx: Parsing) -> "Analysis":
        """Templates that exist in k8s/base, and args."""
        doc = validated(_ANALYSIS, body, ctx.where, cls.key)
        names = tuple(t.templateName for t in doc.templates)
        for name in names:
            if name not in ctx.templates:
                raise SpecError(f"{ctx.where}: analysis.templates names {name!r}, which is not an AnalysisTemplate "
                                "in k8s/base")
        return cls(names, parse_args(body.get("args"), ctx.where, "analysis.args"))

    def label(self) -> str:
        """'analysis success-rate, latency'."""
        return f"analysis {', '.join(self.templates)}"

    def templates_used(self) -> tuple[str, ...]:
        """Its templates."""
        return self.templates

    def args_used(self) -> tuple[Arg, ...]:
        """Its args."""
        return self.args

    def execute(self, ctrl: "Controller", now: float, n: str, pending: Measured | None) -> Outcome:
        """Start the run, ask for the due metrics, record them when handed back, conclude when it ends."""
        run = ctrl.run or _start(self, ctrl, now, n)
        if ctrl.state.pause_reason == INCONCLUSIVE_PAUSE:
            return Progress.WAIT
        if pending and pending.run is run:
            _record(ctrl, run, pending.values, now)
        elif due := run.due(now):
            return Measure(run, due)
        if run.phase == analysis.RUNNING:
            return Progress.WAIT
        return _conclude(ctrl, run, now)


def _start(step: Analysis, ctrl: "Controller", now: float, n: str) -> AnalysisRun:
    s = ctrl.state
    assert s.target is not None, "steps run only in a rollout under way"
    metrics = ctrl.measurer.metrics(ctrl.spec, step, s)
    name = analysis.run_name(ctrl.spec.name, s.target, s.step + 1)
    ctrl.run = run = AnalysisRun(name, metrics, now, ctrl.time_scale)
    longest = max(m.initial_delay_s + (m.interval_s or 0) * max((analysis.effective_count(m) or 1) - 1, 0)
                  for m in metrics)
    ctrl.event(f"{n}: analysis {', '.join(step.templates)} for {s.target}: "
               f"{', '.join(m.name for m in metrics)} over {fmt_s(longest, ctrl.time_scale)}")
    ctrl.save()
    return run


def _record(ctrl: "Controller", run: AnalysisRun, measured: list[tuple[Metric, Measurement]], now: float) -> None:
    """Count a round of measurements; log verdicts and slow metrics' values."""
    for metric, m in measured:
        state = run.record(metric, m, now)
        # A fast metric's passing measurements would flood the log: only its verdicts are lines.
        if m.phase == SUCCESSFUL and (metric.interval_s or 0) < FAST_METRIC_S:
            continue
        count = analysis.effective_count(metric)
        progress = f"{state.count}/{count}" if count else f"{state.count}"
        ctrl.event(f"analysis {metric.name}: {describe(metric, m)} ({progress}, {m.phase})")
    run.settle()
    ctrl.save()


def _conclude(ctrl: "Controller", run: AnalysisRun, now: float) -> Outcome:
    """The run ended: advance on success, pause when inconclusive, abort otherwise."""
    s = ctrl.state
    verdicts = {name: st.phase for name, st in run.states.items()}
    if run.phase == SUCCESSFUL:
        counts = ", ".join(f"{k} {st.count}/{analysis.effective_count(run.metrics[k]) or st.count} passed"
                           for k, st in run.states.items())
        ctrl.event(f"analysis successful: {counts}")
        ctrl.run = None
        ctrl.advance({"kind": "analysis", "verdicts": verdicts, "weight": s.weight})
        return Progress.DONE
    worst = run.worst()
    assert worst is not None  # an ended run that did not succeed has a metric that did not
    last = worst.measurements[-1] if worst.measurements else None
    numbers = describe(run.metrics[worst.name], last) if last else "no measurement"
    s.history.append({"step": s.step + 1, "at": now, "kind": "analysis", "verdicts": verdicts, "weight": s.weight})
    if run.phase == INCONCLUSIVE:
        s.pause_reason, s.phase = INCONCLUSIVE_PAUSE, "Paused"
        ctrl.event(f"analysis inconclusive: {worst.name} {numbers} ({worst.message}): pausing; promote or abort")
        ctrl.save()
        return Progress.WAIT
    ctrl.run = None
    ctrl.abort(f"analysis {worst.name} {run.phase.lower()}: {numbers} ({worst.message})")
    return Progress.WAIT
