"""The local rollout controller: the k8s/ Rollout's steps, executed with Argo Rollouts' semantics.

Flagger's split: a router that sets weights (the stack) and a provider that runs
queries (Prometheus); both are passed in. Every decision is one event line with
the numbers behind it. State is saved after every change, so a controller killed
at any point resumes at the same step with the same weights.
"""

import threading
import time
from dataclasses import asdict, dataclass, field

from canary import analysis, args, spec
from canary.analysis import ERROR, INCONCLUSIVE, SUCCESSFUL, AnalysisRun, Measurement
from canary.wording import describe, fmt_s

HEALTHY, PROGRESSING, PAUSED, DEGRADED = "Healthy", "Progressing", "Paused", "Degraded"
FAST_METRIC_S = 10  # metrics measured more often than this log only their failures


class ControlError(Exception):
    """A control that does not apply now (e.g. promote with nothing to promote)."""


@dataclass
class RolloutState:
    stable: str
    phase: str = HEALTHY
    message: str = ""
    target: str | None = None
    faults: dict = field(default_factory=dict)
    step: int = 0
    weight: int = 0
    header_routes: dict = field(default_factory=dict)
    paused: bool = False
    pause_reason: str = ""
    pause_until: float | None = None
    aborted: bool = False
    canary_down_at: float | None = None
    retire: list = field(default_factory=list)  # [version, at]
    analysis: dict | None = None
    history: list = field(default_factory=list)

    def summary(self) -> dict:
        return {"phase": self.phase, "step": self.step, "weight": self.weight, "stable": self.stable, "target": self.target}


class Controller:
    def __init__(self, rollout: spec.RolloutSpec, store, router, provider, *, prometheus_address: str,
                 time_scale: float = 1.0, clock=time.time, notify=None, emit=print):
        self.spec, self.store, self.router, self.provider = rollout, store, router, provider
        self.prometheus_address, self.time_scale, self.clock = prometheus_address, time_scale, clock
        self.notify, self.emit = notify, emit
        self.lock = threading.RLock()
        saved = store.load()
        self.state = RolloutState(**saved) if saved else RolloutState(stable=router.status()["stable"])
        self._run = self._load_run()
        if saved and self.state.target:
            self._event(f"controller restarted: resuming {self.state.phase.lower()} rollout to {self.state.target} "
                        f"at step {self.state.step + 1}/{len(self.spec.steps)}, canary weight {self.state.weight}")
            self._apply_routing()

    # -- events and persistence ----------------------------------------------
    def _event(self, line: str) -> None:
        self.store.event(line)
        self.emit(line)

    def _save(self) -> None:
        self.state.analysis = self._run.to_dict() if self._run else None
        self.store.save(asdict(self.state))

    def _load_run(self) -> AnalysisRun | None:
        doc = self.state.analysis
        if not doc:
            return None
        step = self.spec.steps[self.state.step]
        return AnalysisRun.from_dict(doc, self._metrics(step))

    def _scaled(self, seconds: float) -> float:
        return seconds / self.time_scale

    # -- routing -------------------------------------------------------------
    def _apply_routing(self) -> None:
        routes = [{"name": name, "match": match} for name, match in self.state.header_routes.items()]
        self.router.set_routing(self.state.weight, routes)

    # -- controls ------------------------------------------------------------
    def start(self, version: str, faults: dict | None = None) -> None:
        with self.lock:
            s = self.state
            if s.target and not s.aborted:
                raise ControlError(f"a rollout to {s.target} is {s.phase.lower()}; abort or promote it first")
            if version == s.stable:
                raise ControlError(f"{version} is already the stable version")
            self._check_args(version)
            if s.target and s.aborted and s.canary_down_at:  # the aborted canary still runs: replace it
                self.router.remove_canary()
            for pending in list(s.retire):
                if pending[0] == version:
                    self.router.retire(version)
                    s.retire.remove(pending)
            self.router.add_canary(version, faults or {})
            self.state = RolloutState(stable=s.stable, phase=PROGRESSING, target=version, faults=faults or {}, retire=s.retire,
                                      history=[{"step": 0, "at": self.clock(), "kind": "start", "weight": 0}])
            extra = f" with faults {faults}" if faults else ""
            self._event(f"rollout {self.spec.name}: {self.state.stable} -> {version}{extra}, {len(self.spec.steps)} steps"
                        + ("" if self.time_scale == 1 else f", time-scale {self.time_scale:g}"))
            self._save()

    def pause(self) -> None:
        with self.lock:
            self._require_active()
            self.state.paused = True
            self.state.phase = PAUSED
            self._event("paused by request")
            self._save()

    def resume(self) -> None:
        with self.lock:
            self._require_active()
            if not self.state.paused:
                raise ControlError("not paused by request (a pause step or an inconclusive analysis needs promote)")
            self.state.paused = False
            self.state.phase = PAUSED if self.state.pause_reason else PROGRESSING
            self._event("resumed")
            self._save()

    def promote(self, full: bool = False) -> None:
        with self.lock:
            s = self._require_active()
            if self._run:
                self._run.terminate()
                self._run = None
            if full:
                self._event(f"promote --full: skipping steps {s.step + 1}..{len(self.spec.steps)}")
                s.step = len(self.spec.steps)
            elif s.pause_reason or isinstance(self.spec.steps[s.step], (spec.Analysis, spec.Pause)):
                self._event(f"promote: skipping step {s.step + 1}/{len(self.spec.steps)}")
                s.step += 1
            else:
                raise ControlError("nothing to promote: the rollout is not at a pause or an analysis")
            s.paused, s.pause_reason, s.pause_until, s.phase = False, "", None, PROGRESSING
            self._save()

    def abort(self, reason: str = "aborted by request") -> None:
        with self.lock:
            s = self._require_active()
            if self._run:
                self._run.terminate()
                self._run = None
            s.weight, s.header_routes = 0, {}
            self._apply_routing()
            s.aborted, s.phase, s.paused, s.pause_reason = True, DEGRADED, False, ""
            s.message = f"RolloutAborted: {reason}"
            s.canary_down_at = self.clock() + self._scaled(self.spec.abort_scale_down_delay_s)
            self._event(f"{reason}: aborting, canary weight 0; {s.target} scaled down in "
                        f"{fmt_s(self.spec.abort_scale_down_delay_s, self.time_scale)}")
            self._save()
            if self.notify:
                self.notify({"event": "rollout-aborted", "rollout": self.spec.name, "version": s.target, "message": s.message})

    def retry(self) -> None:
        with self.lock:
            s = self.state
            if not s.aborted:
                raise ControlError("retry applies to an aborted rollout; this one is not aborted")
            if s.canary_down_at is None:  # already scaled down: bring the canary back
                self.router.add_canary(s.target, s.faults)
            self.state = RolloutState(stable=s.stable, phase=PROGRESSING, target=s.target, faults=s.faults, retire=s.retire)
            self._event(f"retry: rollout to {s.target} restarts at step 1")
            self._save()

    def _require_active(self) -> RolloutState:
        if not self.state.target or self.state.aborted or self.state.phase == HEALTHY:
            raise ControlError(f"no rollout in progress (phase {self.state.phase})")
        return self.state

    # -- the loop --------------------------------------------------------------
    def reconcile(self) -> None:
        with self.lock:
            now, s = self.clock(), self.state
            if s.canary_down_at and now >= s.canary_down_at:
                self.router.remove_canary()
                s.canary_down_at = None
                self._event(f"canary {s.target} scaled down")
                self._save()
            for pending in list(s.retire):
                if now >= pending[1]:
                    self.router.retire(pending[0])
                    s.retire.remove(pending)
                    self._event(f"previous version {pending[0]} scaled down")
                    self._save()
            if s.phase not in (PROGRESSING, PAUSED) or s.aborted or s.paused:
                return
            while s.step < len(self.spec.steps) and not s.aborted:
                if not self._run_step(self.spec.steps[s.step], now):
                    return
            if s.step >= len(self.spec.steps) and not s.aborted:
                self._complete(now)

    def _run_step(self, step, now: float) -> bool:
        """Advance through ``step``; False while it is still in progress."""
        s, n = self.state, f"step {self.state.step + 1}/{len(self.spec.steps)}"
        if isinstance(step, spec.SetWeight):
            s.weight = step.weight
            self._apply_routing()
            self._event(f"{n}: set weight {step.weight} ({s.stable} {100 - step.weight}%, {s.target} {step.weight}%)")
            self._advance({"kind": "setWeight", "weight": step.weight})
        elif isinstance(step, spec.SetHeaderRoute):
            if step.match:
                s.header_routes[step.name] = list(step.match)
                self._apply_routing()
                rule = " or ".join(f"{m['headerName']} {next(iter(m['headerValue']))} {next(iter(m['headerValue'].values()))}"
                                   for m in step.match)
                self._event(f"{n}: header route {step.name}: {rule} -> {s.target}")
            else:
                s.header_routes.pop(step.name, None)
                self._apply_routing()
                self._event(f"{n}: header route {step.name} removed")
            self._advance({"kind": "setHeaderRoute", "name": step.name})
        elif isinstance(step, spec.Pause):
            return self._pause_step(step, now, n)
        elif isinstance(step, spec.Analysis):
            return self._analysis_step(step, now, n)
        return True

    def _advance(self, record: dict) -> None:
        self.state.history.append({"step": self.state.step + 1, "at": self.clock(), **record})
        self.state.step += 1
        self._save()

    def _pause_step(self, step: spec.Pause, now: float, n: str) -> bool:
        s = self.state
        if s.pause_reason != "PauseStep":
            s.pause_reason, s.phase = "PauseStep", PAUSED
            if step.duration_s is None:
                self._event(f"{n}: pause until promoted")
            else:
                s.pause_until = now + self._scaled(step.duration_s)
                self._event(f"{n}: pause {fmt_s(step.duration_s, self.time_scale)}")
            self._save()
        if s.pause_until is None or now < s.pause_until:
            return False
        s.pause_reason, s.pause_until, s.phase = "", None, PROGRESSING
        self._advance({"kind": "pause"})
        return True

    def _analysis_step(self, step: spec.Analysis, now: float, n: str) -> bool:
        s = self.state
        if self._run is None:
            metrics = self._metrics(step)
            self._run = AnalysisRun(f"{self.spec.name}-{s.target}-step{s.step + 1}", metrics, now, self.time_scale)
            longest = max(m.initial_delay_s + (m.interval_s or 0) * max((analysis.effective_count(m) or 1) - 1, 0)
                          for m in metrics)
            self._event(f"{n}: analysis {', '.join(step.templates)} for {s.target}: "
                        f"{', '.join(m.name for m in metrics)} over {fmt_s(longest, self.time_scale)}")
            self._save()
        if s.pause_reason == "InconclusiveAnalysisRun":
            return False
        taken = self._run.tick(now, self._measure)
        for metric, m, state in taken:
            # A fast metric's passing measurements would flood the log: only its verdicts are lines.
            if m.phase == SUCCESSFUL and (metric.interval_s or 0) < FAST_METRIC_S:
                continue
            count = analysis.effective_count(metric)
            progress = f"{state.count}/{count}" if count else f"{state.count}"
            self._event(f"analysis {metric.name}: {describe(metric, m)} ({progress}, {m.phase})")
        if taken:
            self._save()
        phase = self._run.phase
        if phase == analysis.RUNNING:
            return False
        verdicts = {name: st.phase for name, st in self._run.states.items()}
        if phase == SUCCESSFUL:
            counts = ", ".join(f"{k} {st.count}/{analysis.effective_count(self._run.metrics[k]) or st.count} passed"
                               for k, st in self._run.states.items())
            self._event(f"analysis successful: {counts}")
            self._run = None
            self._advance({"kind": "analysis", "verdicts": verdicts, "weight": s.weight})
            return True
        worst = self._run.worst()
        last = worst.measurements[-1] if worst.measurements else None
        metric = next(m for m in self._run.metrics.values() if m.name == worst.name)
        numbers = describe(metric, last) if last else "no measurement"
        s.history.append({"step": s.step + 1, "at": now, "kind": "analysis", "verdicts": verdicts, "weight": s.weight})
        if phase == INCONCLUSIVE:
            s.pause_reason, s.phase = "InconclusiveAnalysisRun", PAUSED
            self._event(f"analysis inconclusive: {worst.name} {numbers} ({worst.message}): pausing; promote or abort")
            self._save()
            return False
        self._run = None
        self.abort(f"analysis {worst.name} {phase.lower()}: {numbers} ({worst.message})")
        return False

    def _complete(self, now: float) -> None:
        s = self.state
        old = s.stable
        self.router.promote_canary()
        s.retire.append([old, now + self._scaled(self.spec.scale_down_delay_s)])
        s.stable, s.target, s.weight, s.header_routes, s.phase = s.target, None, 0, {}, HEALTHY
        s.message = ""
        self._event(f"rollout complete: {s.stable} is stable with 100% of traffic; {old} kept for "
                    f"{fmt_s(self.spec.scale_down_delay_s, self.time_scale)}")
        self._save()

    # -- analysis plumbing -------------------------------------------------------
    def _metrics(self, step: spec.Analysis) -> list[spec.Metric]:
        return args.metrics_for(self.spec, step, self.state.target, self.prometheus_address)

    def _check_args(self, version: str) -> None:
        for step in self.spec.steps:
            if isinstance(step, spec.Analysis):
                args.resolve(self.spec, step, version, self.prometheus_address)

    def _measure(self, metric: spec.Metric) -> Measurement:
        try:
            value = self.provider.query(metric.address, metric.query)
        except analysis.ProviderError as exc:
            return Measurement(ERROR, None, str(exc))
        phase, message = analysis.judge(metric, value)
        return Measurement(phase, value, message)
