"""Starting and stopping runtimes without holding the controller's lock: saved first, run unlocked, and an abort
wins; resuming after a restart.

Starting a runtime (a ReplicaSet, a local process) takes seconds to minutes. Under the lock
every reader (``canary get``, the dashboard, the audit) and every control (abort) waited for
it. Instead the controller decides and saves the new rollout, marked ``starting``, under the
lock; the platform calls run outside it; the lock is taken again to record the result. While
a canary starts no step runs, and a new rollout or a retry is refused (canary.rollout.guards),
so the rollout being started is the controller's state throughout; an abort changes it in place.
"""

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from canary.rollout.status import DEGRADED, RolloutState

if TYPE_CHECKING:  # the controller passes itself: a collaborator, not a base class
    from canary.rollout.controller import Controller


def start_canary(ctrl: "Controller", started: RolloutState, replace: bool = False, retire: bool = False) -> None:
    """Run the platform calls that start ``started.target``, then record the outcome; a failure aborts the rollout."""
    deployer, version, error = ctrl.platform.deployer, started.target, None
    assert version is not None, "a start is decided with a target (Controller.start, retry, converge._restart)"
    try:
        if replace:  # the aborted canary still runs: replace it
            deployer.remove_canary()
        if retire:  # the version is still running as a retired stable
            deployer.retire(version)
        deployer.add_canary(version, started.faults)
        revisions = ctrl.measurer.revisions()  # a platform read: outside the lock too
    except Exception as exc:  # noqa: BLE001 - whatever the platform raised ends the start; re-raised below
        error = exc
    with ctrl.lock:
        _record(ctrl, started, error, None if error else revisions)
    if error is not None:
        raise error


def _record(ctrl: "Controller", started: RolloutState, error: Exception | None,
            revisions: dict[str, str | None] | None) -> None:
    """The start's outcome, under the lock: started, failed (the rollout aborts), or up after an abort."""
    started.starting = False
    version = started.target
    if error is not None and not started.aborted:
        ctrl.abort(f"canary {version} did not start: {error}")  # weight 0 already: no platform call
        return
    if error is not None:
        ctrl.event(f"canary {version} did not start: {error}")
    elif started.aborted:  # aborted while it started: the abort's scale-down removes it, even one already past
        started.canary_down_at = started.canary_down_at or ctrl.clock()
        ctrl.event(f"canary {version} started after the rollout was aborted: the abort's scale-down removes it")
    else:
        started.message, started.revisions = "", revisions or {}
        _routes_back(ctrl, started)
    ctrl.save()


def _routes_back(ctrl: "Controller", started: RolloutState) -> None:
    """A canary started again mid-rollout (canary.rollout.converge) gets its routes back at once, as a replaced
    pod keeps its ReplicaSet's weight; a first start has none. A refusal is left to the next read-back."""
    if (started.weight, started.header_routes, started.mirror_routes) == (0, {}, {}):
        return
    try:
        ctrl.apply_routing()
    except Exception as exc:  # noqa: BLE001 - the canary is up; the routes are repaired by the read-back
        ctrl.event(f"routes not given back to canary {started.target}: {exc}")


def recover(ctrl: "Controller") -> None:
    """After a restart: a first start's canary may or may not run, so whatever started is scaled down; a
    canary being started again mid-rollout is left to the read-back."""
    s = ctrl.state
    if not (s.starting and s.target):
        return
    if not s.aborted and (s.step or s.weight or s.header_routes or s.mirror_routes):
        s.starting = False  # a canary started again mid-rollout (canary.rollout.converge): the read-back goes on
        ctrl.event(f"controller restarted while canary {s.target} was being started again: the read-back "
                   "finds out whether it runs")
        return
    s.starting, s.canary_down_at = False, s.canary_down_at or ctrl.clock()
    if s.aborted:
        return
    s.aborted, s.phase = True, DEGRADED
    s.message = f"RolloutAborted: the controller stopped while canary {s.target} was starting"
    ctrl.finished("aborted", s.message)
    ctrl.event(f"{s.message}: whatever started is scaled down; retry to start it again")
    if ctrl.notify:
        ctrl.notify({"event": "rollout-aborted", "rollout": ctrl.spec.name, "version": s.target, "message": s.message})


def resume(ctrl: "Controller") -> None:
    """After a restart: the saved routes set again; where the platform refuses them (it changed while the
    controller was down), the read-back finds out what it is and repairs it (canary.rollout.converge)."""
    s = ctrl.state
    ctrl.event(f"controller restarted: resuming {s.phase.lower()} rollout to {s.target} "
               f"at step {s.step + 1}/{len(ctrl.spec.steps)}, canary weight {s.weight}")
    ctrl.save()
    try:
        ctrl.apply_routing()
    except Exception as exc:
        if ctrl.platform.observer is None:
            raise
        ctrl.event(f"routes not set again on restart ({exc}): reading the platform back")
        ctrl.save()


def due_scale_downs(ctrl: "Controller", now: float) -> list[Callable[[], None]]:
    """Record the scale-downs that are due; the platform calls run after the lock is released (a call that fails
    is found by the read-back and made again, canary.rollout.converge)."""
    actions: list[Callable[[], None]] = []
    deployer = ctrl.platform.deployer
    with ctrl.lock:
        s = ctrl.state
        if s.canary_down_at and now >= s.canary_down_at:
            s.canary_down_at = None
            actions.append(deployer.remove_canary)
            ctrl.event(f"canary {s.target} scaled down")
        for pending in [p for p in s.retire if now >= p[1]]:
            s.retire.remove(pending)
            actions.append(functools.partial(deployer.retire, pending[0]))
            ctrl.event(f"previous version {pending[0]} scaled down")
        if actions:
            ctrl.save()
    return actions
