"""Read-back and repair: the platform as it is, compared with the saved state, and made to match it.

A call that was asked for may not have happened: a scale-down that raised half-way, a controller
killed between a platform call and its save, a runtime killed by hand, a gateway that did not load
its routes. Argo's and Flagger's controllers read the cluster back on every resync and act on the
difference; so does this one. The platform is read outside the lock (it can be slow) and the repair
is decided under it, against the state as it is then. A difference is acted on only when two looks
in a row find it, so a change under way (a route file being loaded, a canary coming up) is not
taken for drift; routes are set again under the lock, so a concurrent abort is never overwritten.
"""

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from canary.rollout import launch, steps
from canary.rollout.interfaces import Observed

if TYPE_CHECKING:  # the controller passes itself: a collaborator, not a base class
    from canary.rollout.controller import Controller

_log = logging.getLogger("canary.controller")
EVERY_S = 2.0  # seconds between looks: a repair within two looks, a status read per look
Action = Callable[[], None]  # a platform call, made after the lock is released


@dataclass(frozen=True)
class Finding:
    """A difference: its event line, and its repair made under the lock (it may return a call to make after)."""

    line: str
    repair: Callable[[], Action | None]
    counts: bool = True  # False: only reported (a person decides), not counted as a repair


@dataclass
class Looks:
    """When the next look is due, and what the last look found (a finding is acted on when seen twice)."""

    every_s: float = EVERY_S
    due_at: float = 0.0
    suspects: set[str] = field(default_factory=set)
    repairs: int = 0  # differences repaired since the controller started (mlcanary_rollout_drift_repairs_total)
    told: set[str] = field(default_factory=set)  # what was reported and is not repaired here: said once
    blind: bool = False  # the last look could not read the platform (said once per streak)


def look(ctrl: "Controller", now: float) -> None:
    """Read the platform back when a look is due, and repair what differs from the saved state."""
    observer, looks = ctrl.platform.observer, ctrl.looks
    if observer is None or now < looks.due_at:
        return
    looks.due_at = now + looks.every_s
    try:
        seen = observer.observe()
    except Exception as exc:  # noqa: BLE001 - a platform that does not answer shows nothing to compare this time
        if not looks.blind:
            _log.warning(f"reading the platform back failed: {type(exc).__name__}: {exc}; trying again")
        looks.blind = True
        return
    looks.blind = False
    with ctrl.lock:
        actions = _repair(ctrl, seen)
    for action in actions:  # runtimes are started and stopped outside the lock
        action()


def _repair(ctrl: "Controller", seen: Observed) -> list[Action]:
    """Under the lock: the findings seen on two looks in a row, repaired or scheduled; the calls to make."""
    s, looks = ctrl.state, ctrl.looks
    if s.starting:  # the platform is being changed on purpose: nothing to compare until the start is recorded
        looks.suspects = set()
        return []
    findings = _findings(ctrl, seen)
    confirmed = [f for key, f in findings.items() if key in looks.suspects]
    looks.suspects = set(findings)
    actions: list[Action] = []
    for finding in confirmed:
        ctrl.event(f"drift: {finding.line}")
        try:
            action = finding.repair()
        except Exception as exc:  # noqa: BLE001 - a refused repair is said, and tried again at the next two looks
            ctrl.event(f"drift: the repair failed: {type(exc).__name__}: {exc}")
            continue
        looks.repairs += finding.counts
        if action is not None:
            actions.append(action)
    if confirmed:
        ctrl.save()
    return actions


def _findings(ctrl: "Controller", seen: Observed) -> dict[str, Finding]:
    """Each difference between the platform and the state, by a key that says what differs."""
    s = ctrl.state
    if s.target and not s.aborted and seen.stable == s.target != s.stable and s.stable in seen.running:
        return {f"promoted {s.target}": Finding(f"the platform already serves {s.target} as stable (its promotion was "
                                                "not recorded): the rollout completes",
                                                lambda: steps.complete(ctrl, ctrl.clock(), True))}
    if seen.stable != s.stable:  # the stack started again with another version, say: a person decides, once told
        told = ctrl.looks.told
        return {} if seen.stable in told else {f"stable {seen.stable}": Finding(
            f"the platform serves {seen.stable} as stable, the rollout {s.stable}: not repaired (start the stack "
            f"with CANARY_STABLE_VERSION={s.stable}, or move controller.db away)",
            functools.partial(told.add, seen.stable), counts=False)}
    out = _runtime_findings(ctrl, seen)
    return out or _route_findings(ctrl, seen)


def _runtime_findings(ctrl: "Controller", seen: Observed) -> dict[str, Finding]:
    """A canary that should run and does not, one that runs and should not, versions nothing accounts for."""
    s, deployer = ctrl.state, ctrl.platform.deployer
    wanted = bool(s.target) and not s.aborted  # Argo keeps an aborted canary until its scale-down
    allowed = wanted or bool(s.target and s.canary_down_at)
    out: dict[str, Finding] = {}
    if seen.canary and seen.canary != s.stable and not (allowed and seen.canary == s.target):
        why = "belongs to no rollout" if not s.target else f"the rollout's canary is {s.target}" if wanted else "was scaled down"
        out[f"remove {seen.canary}"] = Finding(f"canary {seen.canary} runs, but it {why}: scaling it down",
                                               _call(deployer.remove_canary))
    elif wanted and (seen.canary != s.target or s.target not in seen.running):
        out[f"restart {s.target}"] = Finding(f"canary {s.target} is not running: starting it again",
                                             lambda: _restart(ctrl, seen))
    keep = {s.stable, seen.canary, *(version for version, _ in s.retire)} | ({s.target} if allowed else set())
    for version in sorted(seen.running - keep):
        out[f"retire {version}"] = Finding(f"version {version} runs, but serves nothing the rollout knows of: scaling "
                                           "it down", _call(functools.partial(deployer.retire, version)))
    return out


def _call(action: Action) -> Callable[[], Action]:
    """A repair with nothing to change under the lock: only the platform call, made after it."""
    return lambda: action


def _restart(ctrl: "Controller", seen: Observed) -> Action:
    """The canary started again, as a ReplicaSet replaces its pod: the rollout waits until it is up, then the
    canary gets its routes back (canary.rollout.launch)."""
    s = ctrl.state
    s.starting, s.message = True, f"starting canary {s.target} again"
    replace, retire = seen.canary is not None, s.target in seen.running and seen.canary != s.target
    return lambda: launch.start_canary(ctrl, s, replace, retire)


def _route_findings(ctrl: "Controller", seen: Observed) -> dict[str, Finding]:
    """The gateway's split and routes against the state's, once the runtimes are as the state says."""
    s = ctrl.state
    if seen.weights is None:  # the gateway did not say: nothing to compare
        return {}
    split = {s.stable: 100 - s.weight, **({s.target: s.weight} if s.target else {})}
    want = (tuple(sorted((v, w) for v, w in split.items() if w)), frozenset(s.header_routes), frozenset(s.mirror_routes))
    have = (seen.weights, seen.header_routes, seen.mirror_routes)
    if have == want:
        return {}
    line = (f"the gateway splits {_split(have[0])} with routes {sorted(have[1] | have[2]) or 'none'}, the rollout "
            f"{_split(want[0])} with {sorted(want[1] | want[2]) or 'none'}: routes set again")
    return {f"routes {have} {want}": Finding(line, ctrl.apply_routing)}


def _split(weights: tuple[tuple[str, int], ...]) -> str:
    return " ".join(f"{v} {w}%" for v, w in weights) or "nothing"
