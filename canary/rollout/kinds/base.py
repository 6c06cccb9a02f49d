"""What every step kind is: parsed from its Rollout field, labelled, executed to a typed outcome."""

import abc
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from canary.rollout.analysis import AnalysisRun, Measurement
from canary.rollout.status import RolloutState
from canary.rollout.template import Arg, Metric, Template

if TYPE_CHECKING:  # the controller passes itself: a collaborator, not a base class
    from canary.rollout.controller import Controller


class Progress(enum.Enum):
    """A step that needs no measurement either ended (DONE: go on to the next) or holds the rollout (WAIT)."""

    DONE = "done"
    WAIT = "wait"


@dataclass(frozen=True)
class Measure:
    """The step needs these metrics of ``run`` measured; the controller does it outside its lock."""

    run: AnalysisRun
    metrics: list[Metric]


@dataclass(frozen=True)
class Measured:
    """A round of measurements taken outside the lock, handed back to the step that asked for it."""

    run: AnalysisRun
    values: list[tuple[Metric, Measurement]] = field(default_factory=list)


Outcome = Progress | Measure


@dataclass(frozen=True)
class Parsing:
    """What a step's fields are checked against: the Rollout's managed routes and the AnalysisTemplates."""

    where: str
    managed: list[str]
    templates: dict[str, Template]


class Step(abc.ABC):
    """A step kind: ``key`` is its field in the Rollout's steps; subclasses are frozen dataclasses."""

    key: ClassVar[str]
    holds: ClassVar[bool] = False  # the rollout stops at it until it ends or is promoted past (promote applies)

    @classmethod
    @abc.abstractmethod
    def parse(cls, body: Any, ctx: Parsing) -> "Step":
        """The step from its field's value; SpecError naming ``ctx.where`` when Argo would refuse it."""

    @abc.abstractmethod
    def label(self) -> str:
        """The step in a few words, as 'canary get' and the live view list them."""

    def gives_traffic(self, state: RolloutState) -> bool:
        """Whether running it now hands the canary more traffic (the readiness gate holds it until ready)."""
        return False

    def templates_used(self) -> tuple[str, ...]:
        """The AnalysisTemplates it runs (their metrics are part of the saved steps' hash)."""
        return ()

    def args_used(self) -> tuple[Arg, ...]:
        """The args it gives its templates."""
        return ()

    @abc.abstractmethod
    def execute(self, ctrl: "Controller", now: float, n: str, pending: Measured | None) -> Outcome:
        """Run the step under the controller's lock; ``n`` is 'step i/N' for the event lines."""
