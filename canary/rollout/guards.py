"""When each control applies: one rule per control, which the control enforces and the dashboard shows."""

from canary.rollout.kinds import Step
from canary.rollout.status import HEALTHY, RolloutState

CONTROLS = ("rollout", "pause", "resume", "promote", "promote_full", "abort", "retry")


def _inactive(s: RolloutState) -> str | None:
    if not s.target or s.aborted or s.phase == HEALTHY:
        return f"no rollout in progress (phase {s.phase})"
    return None


def refusal(name: str, s: RolloutState, steps: list[Step]) -> str | None:
    """Why control ``name`` does not apply to state ``s`` now; None when it does."""
    if name in ("rollout", "retry") and s.starting:  # one start at a time (canary.rollout.launch)
        return f"canary {s.target} is still starting; wait for it, or abort"
    if name == "rollout":
        return f"a rollout to {s.target} is {s.phase.lower()}; abort or promote it first" if s.target and not s.aborted else None
    if name == "retry":
        return None if s.aborted else "retry applies to an aborted rollout; this one is not aborted"
    inactive = _inactive(s)
    if inactive or name in ("pause", "abort", "promote_full"):
        return inactive
    if name == "resume":
        return None if s.paused else "not paused by request (a pause step or an inconclusive analysis needs promote)"
    at_hold = s.pause_reason or (s.step < len(steps) and steps[s.step].holds)
    return None if at_hold else "nothing to promote: the rollout is not at a pause or an analysis"


def refusals(s: RolloutState, steps: list[Step]) -> dict[str, str | None]:
    """Every control's refusal, for the dashboard (a control with a reason is drawn disabled)."""
    return {name: refusal(name, s, steps) for name in CONTROLS}
