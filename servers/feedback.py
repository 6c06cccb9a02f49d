"""Ground-truth feedback: the answers a version gave and the true classes, counted as correct or incorrect.

The feedback names the prediction by its answer (the client holds it; the runtime
keeps no log of what it said), so a wrong answer injected on purpose is counted
as incorrect, as a user would see it.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from servers.errors import InvalidInput, ServingError

FEEDBACK_PATH = "/ml-canary/v1/feedback"
SELDON_FEEDBACK_PATH = "/api/v1.0/feedback"  # the Seldon wrapper's own
MAX_ROWS = 1000  # as many rows as a batch the load generator or a labelling job sends at once


class Feedback(BaseModel):
    """One feedback message: per row, the class the version answered and the true class."""

    model_config = ConfigDict(extra="forbid")

    prediction: list[str] = Field(min_length=1, max_length=MAX_ROWS)
    truth: list[str] = Field(min_length=1, max_length=MAX_ROWS)
    model_version: str | None = None
    """The version that answered, when the client knows it: feedback reaching another one is refused."""
    request_id: str | None = Field(None, max_length=200)
    """The answered request's id, for the runtime's log."""

    @field_validator("prediction", "truth", mode="before")
    @classmethod
    def _one_row(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _same_rows(self) -> "Feedback":
        if len(self.prediction) != len(self.truth):
            raise ValueError(f"{len(self.prediction)} predictions but {len(self.truth)} true classes: one each per row")
        return self


class WrongVersion(ServingError):
    """Feedback about another version's answers: counting it here would credit the wrong model."""

    status_code = 409


def score(feedback: Feedback, classes: list[str], version: str) -> tuple[int, int]:
    """(correct, incorrect) rows; InvalidInput for a class the model lacks, WrongVersion for another's answers."""
    if feedback.model_version is not None and feedback.model_version != version:
        raise WrongVersion(f"feedback about version {feedback.model_version}'s answers reached version {version}: "
                           f"route it by the answer's x-model-version header")
    unknown = sorted(set(feedback.prediction + feedback.truth) - set(classes))
    if unknown:
        raise InvalidInput(f"unknown classes {unknown}: this model answers {classes}")
    correct = sum(p == t for p, t in zip(feedback.prediction, feedback.truth, strict=True))
    return correct, len(feedback.truth) - correct


def from_seldon(message: dict[str, Any]) -> Feedback:
    """The wrapper's Feedback message (request, response, truth, reward) as ours; InvalidInput if it is not one."""
    def rows(part: str) -> list[str]:
        data = (message.get(part) or {}).get("data") or {}
        values = data.get("ndarray")
        if not isinstance(values, list) or not values:
            raise InvalidInput(f"feedback needs {part}.data.ndarray: the classes, one row each")
        return [str(v[0]) if isinstance(v, list) and len(v) == 1 else str(v) for v in values]

    tags = ((message.get("response") or {}).get("meta") or {}).get("tags") or {}
    try:
        return Feedback(prediction=rows("response"), truth=rows("truth"),
                        model_version=tags.get("model_version"),
                        request_id=((message.get("response") or {}).get("meta") or {}).get("puid") or None)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise InvalidInput(f"bad feedback: {exc}") from None
