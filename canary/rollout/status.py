"""The Rollout's status as the controller keeps and saves it, with Argo's phase names."""

from dataclasses import dataclass, field
from typing import Any

HEALTHY, PROGRESSING, PAUSED, DEGRADED = "Healthy", "Progressing", "Paused", "Degraded"


class ControlError(Exception):
    """A control that does not apply now (e.g. promote with nothing to promote)."""


@dataclass
class RolloutState:
    """The Rollout's status as the controller saves it."""

    stable: str
    phase: str = HEALTHY
    message: str = ""
    target: str | None = None
    faults: dict[str, str] = field(default_factory=dict)
    step: int = 0
    weight: int = 0
    header_routes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    mirror_routes: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"percentage": p, "match": [...]}
    paused: bool = False
    pause_reason: str = ""
    pause_until: float | None = None
    aborted: bool = False
    canary_down_at: float | None = None
    retire: list[list[Any]] = field(default_factory=list)  # [version, at]
    analysis: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    revisions: dict[str, str | None] = field(default_factory=dict)  # {"Stable": ..., "Latest": ...}: podTemplateHashValue
    starting: bool = False  # the canary's runtime is being started (canary.rollout.launch): no step runs yet
    unready_since: float | None = None  # the canary not ready when a step would give it traffic (canary.rollout.readiness)
    schema: int = 1  # the saved state's layout (canary.rollout.saved.SCHEMA when saved)
    steps_hash: str = ""  # the steps this state was made with (canary.rollout.saved.steps_hash)

    def summary(self) -> dict[str, Any]:
        """The few fields the audit log records before and after a control."""
        return {"phase": self.phase, "step": self.step, "weight": self.weight, "stable": self.stable, "target": self.target}
