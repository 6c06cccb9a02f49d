"""How the controller executes each kind of step: setWeight, setHeaderRoute, pause, analysis, completion.

A mixin of ``Controller``: every method here runs with the controller's lock held.
An analysis step never queries under the lock: it returns the metrics that are due,
the controller measures them unlocked, and hands the measurements back.
"""

from canary.rollout import analysis, readiness, spec
from canary.rollout.analysis import INCONCLUSIVE, SUCCESSFUL, AnalysisRun
from canary.rollout.wording import describe, fmt_s

FAST_METRIC_S = 10  # metrics measured more often than this log only their failures
_ACTIVE = ("Progressing", "Paused")


class StepsMixin:
    """Step execution for ``Controller`` (state, spec, platform and helpers live there)."""

    def _progress(self, now: float, pending, ready: bool | None):
        """Advance through the steps; return (run, due metrics) when a measurement is needed. ``ready``: the
        canary's readiness as read this pass (None: not read), which a step giving it traffic waits for."""
        s = self.state
        if s.phase not in _ACTIVE or s.aborted or s.paused or s.starting:  # no step before the canary runs
            return None
        while s.step < len(self.spec.steps) and not s.aborted:
            if readiness.needed(s, self.spec.steps) and readiness.waits(self, ready, now):
                return None
            outcome = self._run_step(self.spec.steps[s.step], now, pending)
            if outcome is not True:
                return outcome or None
        if s.step >= len(self.spec.steps) and not s.aborted and not readiness.waits(self, ready, now):
            self._complete(now)
        return None

    def _run_step(self, step, now: float, pending):
        """True when the step is done; False while it waits; (run, metrics) to measure."""
        n = f"step {self.state.step + 1}/{len(self.spec.steps)}"
        if isinstance(step, spec.SetWeight):
            self._set_weight(step, n)
        elif isinstance(step, spec.SetHeaderRoute):
            self._set_header_route(step, n)
        elif isinstance(step, spec.SetMirrorRoute):
            self._set_mirror_route(step, n)
        elif isinstance(step, spec.SetCanaryScale):  # the local canary is one process from the rollout's start
            self._event(f"{n}: canary scale {step.scale} (one process here)")
            self._advance({"kind": "setCanaryScale", "scale": step.scale})
        elif isinstance(step, spec.Pause):
            return self._pause_step(step, now, n)
        elif isinstance(step, spec.Analysis):
            return self._analysis_step(step, now, n, pending)
        return True

    def _set_weight(self, step: spec.SetWeight, n: str) -> None:
        s = self.state
        s.weight = step.weight
        self._apply_routing()
        self._event(f"{n}: set weight {step.weight} ({s.stable} {100 - step.weight}%, {s.target} {step.weight}%)")
        self._advance({"kind": "setWeight", "weight": step.weight})

    def _set_header_route(self, step: spec.SetHeaderRoute, n: str) -> None:
        s = self.state
        if step.match:
            s.header_routes[step.name] = list(step.match)
            self._apply_routing()
            rule = " or ".join(f"{m['headerName']} {kind} {value}"
                               for m in step.match for kind, value in m["headerValue"].items())
            self._event(f"{n}: header route {step.name}: {rule} -> {s.target}")
        else:
            s.header_routes.pop(step.name, None)
            self._apply_routing()
            self._event(f"{n}: header route {step.name} removed")
        self._advance({"kind": "setHeaderRoute", "name": step.name})

    def _set_mirror_route(self, step: spec.SetMirrorRoute, n: str) -> None:
        s = self.state
        if step.match:
            s.mirror_routes[step.name] = {"percentage": step.percentage, "match": list(step.match)}
        else:
            s.mirror_routes.pop(step.name, None)
        self._apply_routing()  # first: a routing call that fails leaves no event of a change not made
        self._event(f"{n}: mirror route {step.name}: {step.percentage}% of matching requests copied to {s.target}"
                    if step.match else f"{n}: mirror route {step.name} removed")
        self._advance({"kind": "setMirrorRoute", "name": step.name})

    def _advance(self, record: dict) -> None:
        self.state.history.append({"step": self.state.step + 1, "at": self.clock(), **record})
        self.state.step += 1
        self._save()

    def _pause_step(self, step: spec.Pause, now: float, n: str) -> bool:
        s = self.state
        if s.pause_reason != "PauseStep":
            s.pause_reason, s.phase = "PauseStep", "Paused"
            if step.duration_s is None:
                self._event(f"{n}: pause until promoted")
            else:
                s.pause_until = now + self._scaled(step.duration_s)
                self._event(f"{n}: pause {fmt_s(step.duration_s, self.time_scale)}")
            self._save()
        if s.pause_until is None or now < s.pause_until:
            return False
        s.pause_reason, s.pause_until, s.phase = "", None, "Progressing"
        self._advance({"kind": "pause"})
        return True

    def _start_run(self, step: spec.Analysis, now: float, n: str) -> None:
        s = self.state
        metrics = self._metrics(step)
        self._run = AnalysisRun(analysis.run_name(self.spec.name, s.target, s.step + 1), metrics, now, self.time_scale)
        longest = max(m.initial_delay_s + (m.interval_s or 0) * max((analysis.effective_count(m) or 1) - 1, 0)
                      for m in metrics)
        self._event(f"{n}: analysis {', '.join(step.templates)} for {s.target}: "
                    f"{', '.join(m.name for m in metrics)} over {fmt_s(longest, self.time_scale)}")
        self._save()

    def _analysis_step(self, step: spec.Analysis, now: float, n: str, pending):
        if self._run is None:
            self._start_run(step, now, n)
        if self.state.pause_reason == "InconclusiveAnalysisRun":
            return False
        if pending and pending[0] is self._run:
            self._record(pending[1], now)
        elif due := self._run.due(now):
            return self._run, due
        if self._run.phase == analysis.RUNNING:
            return False
        return self._conclude(now)

    def _record(self, measured: list, now: float) -> None:
        """Count a round of measurements; log verdicts and slow metrics' values."""
        for metric, m in measured:
            state = self._run.record(metric, m, now)
            # A fast metric's passing measurements would flood the log: only its verdicts are lines.
            if m.phase == SUCCESSFUL and (metric.interval_s or 0) < FAST_METRIC_S:
                continue
            count = analysis.effective_count(metric)
            progress = f"{state.count}/{count}" if count else f"{state.count}"
            self._event(f"analysis {metric.name}: {describe(metric, m)} ({progress}, {m.phase})")
        self._run.settle()
        self._save()

    def _conclude(self, now: float) -> bool:
        """The run ended: advance on success, pause when inconclusive, abort otherwise."""
        s, run = self.state, self._run
        verdicts = {name: st.phase for name, st in run.states.items()}
        if run.phase == SUCCESSFUL:
            counts = ", ".join(f"{k} {st.count}/{analysis.effective_count(run.metrics[k]) or st.count} passed"
                               for k, st in run.states.items())
            self._event(f"analysis successful: {counts}")
            self._run = None
            self._advance({"kind": "analysis", "verdicts": verdicts, "weight": s.weight})
            return True
        worst = run.worst()
        last = worst.measurements[-1] if worst.measurements else None
        numbers = describe(run.metrics[worst.name], last) if last else "no measurement"
        s.history.append({"step": s.step + 1, "at": now, "kind": "analysis", "verdicts": verdicts, "weight": s.weight})
        if run.phase == INCONCLUSIVE:
            s.pause_reason, s.phase = "InconclusiveAnalysisRun", "Paused"
            self._event(f"analysis inconclusive: {worst.name} {numbers} ({worst.message}): pausing; promote or abort")
            self._save()
            return False
        self._run = None
        self.abort(f"analysis {worst.name} {run.phase.lower()}: {numbers} ({worst.message})")
        return False

    def _complete(self, now: float, promoted: bool = False) -> None:
        """The canary becomes stable; ``promoted``: the platform already made it so (canary.rollout.converge)."""
        s = self.state
        old = s.stable
        if not promoted:
            self.platform.deployer.promote_canary()
        self._end_run()
        s.retire.append([old, now + self._scaled(self.spec.scale_down_delay_s)])
        self._finished("promoted", "")
        s.stable, s.target, s.weight, s.phase, s.message = s.target, None, 0, "Healthy", ""
        s.header_routes, s.mirror_routes = {}, {}
        self._event(f"rollout complete: {s.stable} is stable with 100% of traffic; {old} kept for "
                    f"{fmt_s(self.spec.scale_down_delay_s, self.time_scale)}")
        self._save()
