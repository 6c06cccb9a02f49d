"""The step kinds the local controller runs, in one registry: a new kind is one class added to ``KINDS``.

Each kind parses its field of the Rollout, says what it is, and executes itself against the
controller (canary.rollout.kinds.base.Step); parsing (canary.rollout.spec), the plan's labels,
the readiness gate, the controls and the saved steps' hash all dispatch through it.
"""

from typing import Any

from canary.rollout.kinds.analysis import Analysis
from canary.rollout.kinds.base import Measure, Measured, Outcome, Parsing, Progress, Step
from canary.rollout.kinds.pause import Pause
from canary.rollout.kinds.routing import SetCanaryScale, SetHeaderRoute, SetMirrorRoute, SetWeight
from canary.rollout.schema import SpecError

__all__ = ["KINDS", "Analysis", "Measure", "Measured", "Outcome", "Parsing", "Pause", "Progress", "SetCanaryScale",
           "SetHeaderRoute", "SetMirrorRoute", "SetWeight", "Step", "parse"]

KINDS: dict[str, type[Step]] = {kind.key: kind for kind in (
    SetWeight, Pause, Analysis, SetHeaderRoute, SetMirrorRoute, SetCanaryScale)}
ARGO_ONLY = ("experiment", "plugin")  # valid in Argo's schema, run only on a cluster


def parse(raw: dict[str, Any], ctx: Parsing) -> Step:
    """One entry of ``strategy.canary.steps``: exactly one field, of a kind in ``KINDS``."""
    fields = [k for k in raw if k in KINDS or k in ARGO_ONLY]
    if len(fields) != 1 or len(raw) != 1:
        raise SpecError(f"{ctx.where}: a step has exactly one of {', '.join(list(KINDS)[:4])}; "
                        f"found {sorted(raw) or 'none'}")
    kind = fields[0]
    if kind in ARGO_ONLY:
        raise SpecError(f"{ctx.where}: {kind} is valid Argo but not run by the local controller; use it on a cluster")
    return KINDS[kind].parse(raw[kind], ctx)
