"""Read-back and repair: the platform as it is, compared with the saved state, and made to match it.

A call that was asked for may not have happened: a scale-down that raised half-way, a controller
killed between a platform call and its save, a runtime killed by hand, a gateway that did not load
its routes. Argo's and Flagger's controllers read the cluster back on every resync and act on the
difference; so does this one. The platform is read outside the lock (it can be slow) and the repair
is decided under it, against the state as it is then. A difference is acted on only when two looks
in a row find it, so a change under way (a route file being loaded, a canary coming up) is not
taken for drift; routes are set again under the lock, so a concurrent abort is never overwritten.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from canary.rollout import launch
from canary.rollout.interfaces import Observed

if TYPE_CHECKING:  # the controller passes itself: a collaborator, not a base class
    from canary.rollout.controller import Controller

EVERY_S = 2.0  # seconds between looks: a repair within two looks, a status read per look


@dataclass
class Looks:
    """When the next look is due, and what the last look found (a finding is acted on when seen twice)."""

    every_s: float = EVERY_S
    due_at: float = 0.0
    suspects: set = field(default_factory=set)
    repairs: int = 0  # differences repaired since the controller started (mlcanary_rollout_drift_repairs_total)


def look(ctrl: "Controller", now: float) -> None:
    """Read the platform back when a look is due, and repair what differs from the saved state."""
    observer, looks = ctrl.platform.observer, ctrl.looks
    if observer is None or now < looks.due_at:
        return
    looks.due_at = now + looks.every_s
    try:
        seen = observer.observe()
    except Exception:  # noqa: BLE001 - a platform that does not answer shows nothing to compare this time
        return
    with ctrl.lock:
        actions = _repair(ctrl, seen, now)
    for action in actions:  # runtimes are started and stopped outside the lock
        action()


def _repair(ctrl: "Controller", seen: Observed, now: float) -> list[Callable[[], None]]:
    """Under the lock: the findings seen on two looks in a row, repaired or scheduled; the calls to make."""
    s, looks = ctrl.state, ctrl.looks
    if s.starting:  # the platform is being changed on purpose: nothing to compare until the start is recorded
        looks.suspects = set()
        return []
    findings = _findings(ctrl, seen)
    confirmed = [(key, f) for key, f in findings.items() if key in looks.suspects]
    looks.suspects = set(findings)
    looks.repairs += len(confirmed)
    actions = []
    for _key, (line, make) in confirmed:
        ctrl._event(f"drift: {line}")
        action = make()
        if action is not None:
            actions.append(action)
    if confirmed:
        ctrl._save()
    return actions


def _findings(ctrl: "Controller", seen: Observed) -> dict:
    """Each difference between the platform and the state: key -> (event line, repair made under the lock)."""
    s, deployer = ctrl.state, ctrl.platform.deployer
    if s.target and not s.aborted and seen.stable == s.target != s.stable:
        return {f"promoted {s.target}": (f"the platform already serves {s.target} as stable (its promotion was not "
                                         "recorded): the rollout completes", lambda: ctrl._complete(ctrl.clock(), True))}
    wanted = bool(s.target) and not s.aborted  # Argo keeps an aborted canary until its scale-down
    allowed = wanted or bool(s.target and s.canary_down_at)
    out: dict = {}
    if seen.canary and seen.canary != s.stable and not (allowed and seen.canary == s.target):
        why = "belongs to no rollout" if not s.target else f"the rollout's canary is {s.target}" if wanted else "was scaled down"
        out[f"remove {seen.canary}"] = (f"canary {seen.canary} runs, but it {why}: scaling it down",
                                        lambda: deployer.remove_canary)
    elif wanted and (seen.canary != s.target or s.target not in seen.running):
        out[f"restart {s.target}"] = (f"canary {s.target} is not running: starting it again", lambda: _restart(ctrl, seen))
    keep = {s.stable, seen.stable, seen.canary, *(version for version, _ in s.retire)} | ({s.target} if allowed else set())
    for version in sorted(seen.running - keep):
        out[f"retire {version}"] = (f"version {version} runs, but serves nothing the rollout knows of: scaling it down",
                                    lambda version=version: lambda: deployer.retire(version))
    if not out:
        out.update(_route_findings(ctrl, seen))
    return out


def _restart(ctrl: "Controller", seen: Observed) -> Callable[[], None]:
    """The canary started again, as a ReplicaSet replaces its pod: the rollout waits until it is up."""
    s = ctrl.state
    s.starting, s.message = True, f"starting canary {s.target} again"
    replace, retire = seen.canary is not None, s.target in seen.running and seen.canary != s.target
    return lambda: launch.start_canary(ctrl, s, replace, retire)


def _route_findings(ctrl: "Controller", seen: Observed) -> dict:
    """The gateway's routes against the state's (weight, header routes, mirror routes), once the runtimes match."""
    s = ctrl.state
    if seen.weight is None:  # the gateway did not say: nothing to compare
        return {}
    want = (s.weight, frozenset(s.header_routes), frozenset(s.mirror_routes))
    have = (seen.weight, seen.header_routes, seen.mirror_routes)
    if have == want:
        return {}
    line = (f"the gateway gives the canary {have[0]}% with routes {sorted(have[1] | have[2]) or 'none'}, the rollout "
            f"{want[0]}% with {sorted(want[1] | want[2]) or 'none'}: routes set again")
    return {f"routes {have} {want}": (line, lambda: ctrl._apply_routing())}
