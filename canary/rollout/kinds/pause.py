"""The pause step: for a duration, or until promoted."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import TypeAdapter

from canary.rollout.kinds.base import Measured, Outcome, Parsing, Progress, Step
from canary.rollout.schema import PauseBody, validated
from canary.rollout.template import duration_s
from canary.rollout.wording import fmt_s, span

if TYPE_CHECKING:
    from canary.rollout.controller import Controller

PAUSE_STEP = "PauseStep"  # Argo's pause reason for a pause step
_PAUSE = TypeAdapter(PauseBody)


@dataclass(frozen=True)
class Pause(Step):
    """Wait, for a duration or until promoted."""

    key: ClassVar[str] = "pause"
    holds: ClassVar[bool] = True
    duration_s: float | None  # None: until promoted

    @classmethod
    def parse(cls, body: Any, ctx: Parsing) -> "Pause":
        """``{}`` or ``{duration: 30s}``."""
        doc = validated(_PAUSE, body or {}, ctx.where, cls.key)
        return cls(None if doc.duration is None else duration_s(doc.duration, f"{ctx.where}: pause.duration"))

    def label(self) -> str:
        """'pause 30s' or 'pause until promoted'."""
        return "pause until promoted" if self.duration_s is None else f"pause {span(self.duration_s)}"

    def execute(self, ctrl: "Controller", now: float, n: str, pending: Measured | None) -> Outcome:
        """Paused at the first pass; done once the (time-scaled) duration has passed."""
        s = ctrl.state
        if s.pause_reason != PAUSE_STEP:
            s.pause_reason, s.phase = PAUSE_STEP, "Paused"
            if self.duration_s is None:
                ctrl.event(f"{n}: pause until promoted")
            else:
                s.pause_until = now + ctrl.scaled(self.duration_s)
                ctrl.event(f"{n}: pause {fmt_s(self.duration_s, ctrl.time_scale)}")
            ctrl.save()
        if s.pause_until is None or now < s.pause_until:
            return Progress.WAIT
        s.pause_reason, s.pause_until, s.phase = "", None, "Progressing"
        ctrl.advance({"kind": self.key})
        return Progress.DONE
