"""The readiness gate: no new traffic share and no promotion for a canary that is not ready.

Argo Rollouts keeps the canary at the previous step's weight while its ReplicaSet is short
of available replicas (rollout/trafficrouting.go, ``reconcileTrafficRouting``: "Use the
previous weight since the new RS is not ready for a new weight", with
``AtDesiredReplicaCountsForCanary`` of utils/replicaset/canary.go), and a rollout that makes
no progress within ``spec.progressDeadlineSeconds`` times out, aborted when
``spec.progressDeadlineAbort`` is set (rollout/sync.go, ``calculateRolloutConditions``).
Here the canary is one runtime, available when it answers its readiness probe: a canary that
died after its last analysis is not handed the next share, or 100% at the promotion.
"""

from typing import TYPE_CHECKING

from canary.rollout.kinds import Step
from canary.rollout.status import RolloutState
from canary.rollout.wording import fmt_s

if TYPE_CHECKING:
    from canary.rollout.controller import Controller


def needed(state: RolloutState, steps: list[Step]) -> bool:
    """Whether the next thing the rollout does gives the canary more traffic: a weight step, or the promotion."""
    if not state.target or state.aborted or state.paused or state.starting:
        return False
    if state.step >= len(steps):
        return True
    return steps[state.step].gives_traffic(state)


WAITING, TIMED_OUT = "CanaryNotReady", "ProgressDeadlineExceeded"  # the message prefixes while the gate holds


def waits(ctrl: "Controller", ready: bool | None, now: float) -> bool:
    """Whether the step waits for its canary to be ready (None: not read this pass); past the progress deadline
    the rollout aborts, or, without progressDeadlineAbort, says it timed out and keeps waiting, as Argo does."""
    s = ctrl.state
    if ready is None:  # not read this pass (the pass began before this step), or the platform did not answer
        return True
    if ready:
        s.unready_since = None
        if s.message.startswith((WAITING, TIMED_OUT)):
            s.message = ""
        return False
    deadline_s, abort = ctrl.spec.progress_deadline_s, ctrl.spec.progress_deadline_abort
    if s.unready_since is None:
        s.unready_since = now
        s.message = f"{WAITING}: canary {s.target} is not ready; it gets no more traffic until it is"
        ctrl.event(f"step {min(s.step + 1, len(ctrl.spec.steps))}/{len(ctrl.spec.steps)}: {s.message}")
        ctrl.save()
    elif now - s.unready_since > ctrl.scaled(deadline_s) and not s.message.startswith(TIMED_OUT):
        reason = f"canary {s.target} not ready for {fmt_s(deadline_s, ctrl.time_scale)} (progressDeadlineSeconds)"
        if abort:
            ctrl.abort(reason)
        else:
            s.message = f"{TIMED_OUT}: {reason}"
            ctrl.event(s.message)
            ctrl.save()
    return True


def read(ctrl: "Controller") -> bool | None:
    """The canary's readiness, read outside the controller's lock and only when the next step needs it (None:
    not read, or the platform did not answer: the step waits, and the deadline counts only real answers)."""
    with ctrl.lock:
        if not needed(ctrl.state, ctrl.spec.steps):
            return None
    try:
        return ctrl.platform.deployer.canary_ready()
    except Exception:  # noqa: BLE001 - a platform that does not answer has not shown the canary ready, nor unready
        return None
