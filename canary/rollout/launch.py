"""Starting a canary without holding the controller's lock: saved first, started unlocked, and an abort wins.

Starting a runtime (a ReplicaSet, a local process) takes seconds to minutes. Under the lock
every reader (``canary get``, the dashboard, the audit) and every control (abort) waited for
it. Instead the controller decides and saves the new rollout, marked ``starting``, under the
lock; the platform calls run outside it; the lock is taken again to record the result, unless
another control changed the rollout meanwhile. No step runs while the canary starts.
"""

from typing import TYPE_CHECKING

from canary.rollout.status import ControlError, RolloutState

if TYPE_CHECKING:  # the controller passes itself: a collaborator, not a base class
    from canary.rollout.controller import Controller


def start_canary(ctrl: "Controller", started: RolloutState, replace: bool = False, retire: bool = False) -> None:
    """Run the platform calls that start ``started.target``, then mark the rollout started; on a failure, abort it."""
    deployer, version = ctrl.platform.deployer, started.target
    try:
        if replace:  # the aborted canary still runs: replace it
            deployer.remove_canary()
        if retire:  # the version is still running as a retired stable
            deployer.retire(version)
        deployer.add_canary(version, started.faults)
    except Exception as exc:
        _abort(ctrl, started, f"canary {version} did not start: {exc}")
        raise
    with ctrl.lock:
        current = ctrl.state
        if current is not started and current.target == version and not current.aborted:
            current.revisions = ctrl._revisions()  # aborted, then retried, while it started: the retry's canary
        elif current is not started or started.aborted:
            if current.aborted and current.canary_down_at is None:  # its scale-down ran before it was up
                current.canary_down_at = ctrl.clock()
            ctrl._event(f"canary {version} started after the rollout was aborted: the abort's scale-down removes it")
        else:
            started.starting, started.message, started.revisions = False, "", ctrl._revisions()
        ctrl._save()


def _abort(ctrl: "Controller", started: RolloutState, reason: str) -> None:
    """Abort the rollout that was starting, unless a control already ended it."""
    if ctrl.state is started and not started.aborted:
        try:
            ctrl.abort(reason)
        except ControlError:  # aborted by request in the meantime
            pass


def interrupted(state: RolloutState) -> bool:
    """A saved rollout whose canary was starting when the controller stopped: whether it runs is unknown."""
    return bool(state.starting and state.target and not state.aborted)
