"""The rollout controller: the k8s/ Rollout's steps, executed with Argo Rollouts' semantics.

Flagger's split: a router that sets weights, a deployer that runs revisions and a
provider that runs queries, all passed in as the interfaces in ``interfaces``.
Every decision is one event line with the numbers behind it. State is saved after
every change, with the change's event lines in the same transaction, so a controller
killed at any point resumes at the same step with the same weights and a history that
says so. The lock guards the state only: queries and slow platform calls
run outside it, so a control such as abort never waits behind a slow Prometheus.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from canary.rollout import converge, guards, launch, readiness, spec, steps
from canary.rollout import saved as saved_state
from canary.rollout.analysis import AnalysisRun
from canary.rollout.interfaces import Deployer, HeaderRoute, MetricsProvider, MirrorRoute, Observer, TrafficRouter
from canary.rollout.kinds import Measured
from canary.rollout.measure import Measurer
from canary.rollout.providers import Clients
from canary.rollout.state import Store
from canary.rollout.status import DEGRADED, HEALTHY, PAUSED, PROGRESSING, ControlError, RolloutState
from canary.rollout.web import WebProvider
from canary.rollout.wording import fmt_s

_log = logging.getLogger("canary.controller")
__all__ = ["DEGRADED", "HEALTHY", "PAUSED", "PROGRESSING", "ControlError", "Controller", "Platform", "RolloutState"]

@dataclass(frozen=True)
class Platform:
    """The interfaces the engine drives; on one machine all three are canary.local adapters."""

    router: TrafficRouter
    deployer: Deployer
    provider: MetricsProvider
    web: WebProvider = field(default_factory=WebProvider)  # Argo's web provider: plain HTTP, the same everywhere
    observer: Observer | None = None  # reads the platform back (canary.rollout.converge); None: trust the calls


Notify = Callable[[dict[str, Any]], None]


class Controller:
    """One Rollout's controller: controls from the API, ``reconcile`` from the loop; the steps execute themselves
    (canary.rollout.kinds) and the measurements are the ``Measurer``'s."""

    def __init__(self, rollout: spec.RolloutSpec, store: Store, platform: Platform, *, prometheus_address: str,
                 judge_address: str = "", time_scale: float = 1.0, clock: Callable[[], float] = time.time,
                 notify: Notify | None = None, emit: Callable[[str], None] = _log.info, restart_steps: bool = False):
        self.spec, self.store, self.platform = rollout, store, platform
        # Args the templates point at cluster services; on this platform they take these values.
        local_args = {"prometheus-address": prometheus_address,
                      **({"judge-address": judge_address} if judge_address else {})}
        self.measurer = Measurer(local_args, platform.deployer, Clients(platform.provider, platform.web))
        self.time_scale, self.clock = time_scale, clock
        self.notify, self.emit = notify, emit
        self.lock = threading.RLock()
        self._unsaved: tuple[list[str], list[dict[str, Any]]] = ([], [])  # event lines and ended rollouts
        # SavedStateError when the saved state cannot be resumed with this k8s/ (canary.rollout.saved)
        self.state, saved, lines = saved_state.load(store, rollout, platform.deployer.stable_revision, clock(),
                                                    restart_steps)
        self._steps_hash = saved_state.steps_hash(rollout)
        for line in lines:
            self.event(line)
        self.run: AnalysisRun | None = self._load_run()  # the analysis run of the current step, if any
        self.looks = converge.Looks()
        launch.recover(self)
        if saved and self.state.target:
            launch.resume(self)

    # -- events, persistence, routing ---------------------------------------
    def event(self, line: str) -> None:
        """Shown at once; stored with the state it led to, at the next ``_save``."""
        self._unsaved[0].append(line)
        self.emit(line)

    def finished(self, outcome: str, message: str) -> None:
        """The rollout's line in the history, stored with the state that ends it."""
        self._unsaved[1].append(self._ended(outcome, message))

    def save(self) -> None:
        """The state, with the events and ended rollouts since the last save, in one transaction."""
        self.state.analysis = self.run.to_dict() if self.run else None
        self.state.schema, self.state.steps_hash = saved_state.SCHEMA, self._steps_hash
        events, finished = self._unsaved
        self.store.commit(asdict(self.state), events, finished)
        self._unsaved = ([], [])

    def _load_run(self) -> AnalysisRun | None:
        doc = self.state.analysis
        if not doc:
            return None
        return AnalysisRun.from_dict(doc, self.measurer.metrics(self.spec, self.spec.steps[self.state.step], self.state))

    def scaled(self, seconds: float) -> float:
        """A duration of the plan in the controller's (time-scaled) seconds."""
        return seconds / self.time_scale

    def advance(self, record: dict[str, Any]) -> None:
        """The current step done: recorded in the history, the next one current, saved."""
        self.state.history.append({"step": self.state.step + 1, "at": self.clock(), **record})
        self.state.step += 1
        self.save()

    def apply_routing(self) -> None:
        """The state's weight, header and mirror routes set on the router."""
        routes = [HeaderRoute.from_argo(name, match) for name, match in self.state.header_routes.items()]
        mirrors = [MirrorRoute.from_argo(name, r["percentage"], r["match"]) for name, r in self.state.mirror_routes.items()]
        self.platform.router.set_routing(self.state.weight, routes, mirrors)

    def summary(self) -> dict[str, Any]:
        """The audit fields, read under the lock."""
        with self.lock:
            return self.state.summary()

    # -- controls ------------------------------------------------------------
    def start(self, version: str, faults: dict[str, str] | None = None) -> None:
        """Begin a rollout to ``version``; ``faults`` are FAULT_* variables for its runtime. Decided and saved
        under the lock, the canary started outside it (canary.rollout.launch)."""
        with self.lock:
            s = self.state
            self._require("rollout")
            if version == s.stable:
                raise ControlError(f"{version} is already the stable version")
            self.measurer.check_args(self.spec, version)
            replace = bool(s.target and s.aborted and s.canary_down_at)
            retiring = [p for p in s.retire if p[0] == version]
            self.state = started = RolloutState(
                stable=s.stable, phase=PROGRESSING, target=version, faults=faults or {}, starting=True,
                retire=[p for p in s.retire if p not in retiring], message=f"starting canary {version}",
                history=[{"step": 0, "at": self.clock(), "kind": "start", "weight": 0}])
            extra = f" with faults {faults}" if faults else ""
            self.event(f"rollout {self.spec.name}: {self.state.stable} -> {version}{extra}, {len(self.spec.steps)} steps"
                       + ("" if self.time_scale == 1 else f", time-scale {self.time_scale:g}"))
            self.save()
        launch.start_canary(self, started, replace, bool(retiring))

    def pause(self) -> None:
        """Hold the rollout where it is (Argo's spec.paused)."""
        with self.lock:
            self._require("pause")
            self.state.paused, self.state.phase = True, PAUSED
            self.state.unready_since = None  # paused time does not count toward the progress deadline
            self.event("paused by request")
            self.save()

    def resume(self) -> None:
        """Undo a pause by request."""
        with self.lock:
            self._require("resume")
            self.state.paused = False
            self.state.phase = PAUSED if self.state.pause_reason else PROGRESSING
            self.event("resumed")
            self.save()

    def promote(self, full: bool = False) -> None:
        """Skip the current pause or analysis; ``full`` skips every remaining step."""
        with self.lock:
            s = self._require("promote_full" if full else "promote")
            self.end_run()
            if full:
                self.event(f"promote --full: skipping steps {s.step + 1}..{len(self.spec.steps)}")
                s.step = len(self.spec.steps)
            else:
                self.event(f"promote: skipping step {s.step + 1}/{len(self.spec.steps)}")
                s.step += 1
            s.paused, s.pause_reason, s.pause_until, s.phase = False, "", None, PROGRESSING
            s.unready_since = None  # a skipped step's wait for readiness starts over at the next one
            self.save()

    def abort(self, reason: str = "aborted by request") -> None:
        """Canary weight 0 at once; the canary is scaled down after abortScaleDownDelaySeconds."""
        with self.lock:
            s = self._require("abort")
            self.end_run()
            routed = (s.weight, s.header_routes, s.mirror_routes) != (0, {}, {})
            s.weight, s.header_routes, s.mirror_routes = 0, {}, {}  # Argo removes the managed routes
            if routed and not s.starting:  # no call that waits behind a start: the read-back sets the routes after
                self.apply_routing()
            s.aborted, s.phase, s.paused, s.pause_reason = True, DEGRADED, False, ""
            s.message = f"RolloutAborted: {reason}"
            s.canary_down_at = self.clock() + self.scaled(self.spec.abort_scale_down_delay_s)
            self.finished("aborted", s.message)
            self.event(f"{reason}: aborting, canary weight 0; {s.target} scaled down in "
                       f"{fmt_s(self.spec.abort_scale_down_delay_s, self.time_scale)}")
            self.save()
        if self.notify:
            self.notify({"event": "rollout-aborted", "rollout": self.spec.name, "version": s.target, "message": s.message})

    def retry(self) -> None:
        """Restart an aborted rollout from step 1; a canary already scaled down is started outside the lock."""
        revisions = self.measurer.revisions()  # a platform read: before the lock
        with self.lock:
            s = self._require("retry")
            back = s.canary_down_at is None  # already scaled down: bring the canary back
            self.state = started = RolloutState(
                stable=s.stable, phase=PROGRESSING, target=s.target, faults=s.faults, retire=s.retire, starting=back,
                message=f"starting canary {s.target}" if back else "", revisions={} if back else revisions)
            self.event(f"retry: rollout to {s.target} restarts at step 1")
            self.save()
        if back:
            launch.start_canary(self, started)

    def _ended(self, outcome: str, message: str) -> dict[str, Any]:
        """A rollout's line in the history: from what to what, when it began, how it ended."""
        s = self.state
        return {"from": s.stable, "to": s.target, "outcome": outcome, "message": message, "step": s.step,
                "started": s.history[0]["at"] if s.history else None, "revision": s.revisions.get("Latest")}

    def _require(self, control: str) -> RolloutState:
        """The state, or ControlError saying why ``control`` does not apply now (canary.rollout.guards)."""
        reason = guards.refusal(control, self.state, self.spec.steps)
        if reason:
            raise ControlError(reason)
        return self.state

    def end_run(self) -> None:
        """The current analysis run stopped, as Argo terminates a run its step no longer needs."""
        if self.run:
            self.run.terminate()
            self.run = None

    # -- the loop --------------------------------------------------------------
    def reconcile(self) -> None:
        """One pass: scale-downs that are due, the platform read back and repaired, then the steps; the platform
        is read and measurements are taken unlocked."""
        now = self.clock()
        for action in launch.due_scale_downs(self, now):
            action()
        converge.look(self, now)  # a scale-down that failed (at this pass or before) is found and done again
        ready = readiness.read(self)  # a platform read: outside the lock
        with self.lock:
            request = steps.progress(self, now, None, ready)
        if request is None:
            return
        measured = Measured(request.run, [(metric, self.measurer.measure(metric)) for metric in request.metrics])
        with self.lock:  # at most one round of measurements per pass: what it leads to is asked at the next pass
            steps.progress(self, now, measured, ready)
