"""The step loop: each step executed as its kind says (canary.rollout.kinds), then the promotion.

Runs with the controller's lock held. A step that needs measurements returns them (``Measure``);
the controller measures unlocked and calls again with the values (``Measured``).
"""

from typing import TYPE_CHECKING

from canary.rollout import readiness
from canary.rollout.kinds import Measure, Measured, Progress
from canary.rollout.status import HEALTHY, PAUSED, PROGRESSING
from canary.rollout.wording import fmt_s

if TYPE_CHECKING:  # the controller passes itself: a collaborator, not a base class
    from canary.rollout.controller import Controller

_ACTIVE = (PROGRESSING, PAUSED)


def progress(ctrl: "Controller", now: float, pending: Measured | None, ready: bool | None) -> Measure | None:
    """Advance through the steps; the measurements needed, if any. ``ready``: the canary's readiness as read this
    pass (None: not read), which a step giving it traffic, and the promotion, wait for."""
    s, steps = ctrl.state, ctrl.spec.steps
    if s.phase not in _ACTIVE or s.aborted or s.paused or s.starting:  # no step before the canary runs
        return None
    while s.step < len(steps) and not s.aborted:
        if readiness.needed(s, steps) and readiness.waits(ctrl, ready, now):
            return None
        outcome = steps[s.step].execute(ctrl, now, f"step {s.step + 1}/{len(steps)}", pending)
        if outcome is not Progress.DONE:
            return outcome if isinstance(outcome, Measure) else None
    if s.step >= len(steps) and not s.aborted and not readiness.waits(ctrl, ready, now):
        complete(ctrl, now)
    return None


def complete(ctrl: "Controller", now: float, promoted: bool = False) -> None:
    """The canary becomes stable; ``promoted``: the platform already made it so (canary.rollout.converge)."""
    s, rollout = ctrl.state, ctrl.spec
    old, new = s.stable, s.target
    assert new is not None, "only a rollout under way completes"
    if not promoted:
        ctrl.platform.deployer.promote_canary()
    ctrl.end_run()
    s.retire.append([old, now + ctrl.scaled(rollout.scale_down_delay_s)])
    ctrl.finished("promoted", "")
    s.stable, s.target, s.weight, s.phase, s.message = new, None, 0, HEALTHY, ""
    s.header_routes, s.mirror_routes = {}, {}
    ctrl.event(f"rollout complete: {s.stable} is stable with 100% of traffic; {old} kept for "
               f"{fmt_s(rollout.scale_down_delay_s, ctrl.time_scale)}")
    ctrl.save()
