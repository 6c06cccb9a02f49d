"""The Rollout's fields as pydantic models: what Argo's CRD schema and validation refuse, refused here too.

The shapes and bounds follow the Rollout CRD of Argo Rollouts v1.9.1 (its ``openAPIV3Schema``)
and pkg/apis/rollouts/validation/validation.go; what refers to other documents (a template by
name, a managed route) is checked where both are known (canary.rollout.kinds). A refusal is one
SpecError that names the step, the field, what is wrong and what was given.
"""

import reprlib
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from canary.rollout.interfaces import MATCH_KINDS

T = TypeVar("T")
# Argo's defaults (utils/defaults/defaults.go)
DEFAULT_ABORT_SCALE_DOWN_S, DEFAULT_SCALE_DOWN_S, DEFAULT_PROGRESS_DEADLINE_S = 30, 30, 600
Count = Annotated[int, Field(strict=True, ge=0)]  # int32 fields: a whole number, not a string or a bool
Percent = Annotated[int, Field(strict=True, ge=0, le=100)]  # a traffic share


class SpecError(ValueError):
    """The Rollout or an AnalysisTemplate cannot be executed as written."""


def validated(schema: TypeAdapter[T], body: Any, where: str, field: str) -> T:
    """``body`` (the value of ``field``) read by ``schema``; SpecError naming the first thing wrong."""
    try:
        return schema.validate_python(body)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        path = ".".join([field, *(str(p) for p in error["loc"])])
        reason = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
        given = f" (given {reprlib.repr(error['input'])})"
        raise SpecError(f"{where}: {path}: {reason[0].lower()}{reason[1:]}{given}") from None


class ArgoObject(BaseModel):
    """A Rollout object: Argo's fields by their names; others are ignored, as the API server prunes them."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _pruned(cls, value: Any) -> Any:
        # The API server drops null fields before Argo reads the object: an empty ``match:`` is no match.
        return {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else value


class StringMatch(RootModel[dict[str, str]]):
    """Istio's and Argo's StringMatch: exactly one of exact, prefix, regex."""

    @field_validator("root")
    @classmethod
    def _one(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) != 1 or next(iter(value)) not in MATCH_KINDS:
            raise ValueError(f"needs exactly one of {', '.join(MATCH_KINDS)}")
        return value


class HeaderMatch(ArgoObject):
    """setHeaderRoute.match[]: a header and how its value matches."""

    headerName: str = Field(min_length=1)
    headerValue: StringMatch


class HeaderRouteBody(ArgoObject):
    """setHeaderRoute: a managed route's name; no match removes the route."""

    name: str
    match: list[HeaderMatch] = []


class MirrorMatch(ArgoObject):
    """setMirrorRoute.match[]: conditions that must all hold."""

    method: StringMatch | None = None
    path: StringMatch | None = None
    headers: dict[str, StringMatch] | None = None


class MirrorRouteBody(ArgoObject):
    """setMirrorRoute: a managed route's name, the share copied, and matches; no match removes the route."""

    name: str
    percentage: Percent = 100  # createMirrorRoute's default
    match: list[MirrorMatch] = []


class CanaryScaleBody(ArgoObject):
    """setCanaryScale: replicas, a weight, or matchTrafficWeight."""

    replicas: Count | None = None
    weight: Percent | None = None
    matchTrafficWeight: bool = False


class ValueFrom(ArgoObject):
    """An arg's valueFrom: a field of the Rollout, or a pod-template hash (a secret does not exist here)."""

    podTemplateHashValue: Literal["Stable", "Latest"] | None = None
    fieldRef: dict[str, str] | None = None
    secretKeyRef: dict[str, Any] | None = None

    @field_validator("secretKeyRef")
    @classmethod
    def _no_secret(cls, value: dict[str, Any] | None) -> None:
        if value is not None:
            raise ValueError("valueFrom secretKeyRef is not available on one machine")
        return None


class ArgDoc(ArgoObject):
    """An analysis arg: a value, or where its value comes from."""

    name: str = Field(min_length=1)
    value: Any = None  # a string in the CRD; a YAML number (value: 5) is taken as its text, as users write it
    valueFrom: ValueFrom | None = None


class TemplateRef(ArgoObject):
    """analysis.templates[]: an AnalysisTemplate by name."""

    templateName: str = Field(min_length=1)


class AnalysisBody(ArgoObject):
    """analysis: at least one template, and args."""

    templates: list[TemplateRef] = Field(min_length=1)
    args: list[ArgDoc] = []


class PauseBody(ArgoObject):
    """pause: a duration (Argo's: seconds as a number or a string with units), or none: until promoted."""

    duration: Any = None

    @field_validator("duration")
    @classmethod
    def _number_or_text(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("a duration is a number of seconds or a text such as 30s or 1m")
        return value


class CanaryDoc(ArgoObject):
    """spec.strategy.canary, the fields the local controller runs."""

    steps: list[dict[str, Any]] = []
    managed_routes: list[str] = Field([], alias="trafficRouting")
    abortScaleDownDelaySeconds: Count = DEFAULT_ABORT_SCALE_DOWN_S
    scaleDownDelaySeconds: Count = DEFAULT_SCALE_DOWN_S
    analysis: dict[str, Any] | None = None  # background analysis: refused by the local controller

    @field_validator("managed_routes", mode="before")
    @classmethod
    def _managed(cls, routing: dict[str, Any] | None) -> list[str]:
        return [route["name"] for route in (routing or {}).get("managedRoutes", [])]


class StrategyDoc(ArgoObject):
    """spec.strategy: only canary runs locally."""

    canary: CanaryDoc | None = None


class RolloutDoc(ArgoObject):
    """A Rollout's spec, as far as the local controller reads it."""

    strategy: StrategyDoc = StrategyDoc()
    minReadySeconds: Count = 0  # before the deadline, which is checked against it
    progressDeadlineSeconds: Count = Field(default=DEFAULT_PROGRESS_DEADLINE_S, validate_default=True)
    progressDeadlineAbort: bool = False

    @field_validator("progressDeadlineSeconds")
    @classmethod
    def _deadline(cls, deadline: int, info: ValidationInfo) -> int:
        # validation.go, ValidateRolloutSpec: "must be greater than minReadySeconds"
        min_ready = info.data.get("minReadySeconds", 0)
        if deadline <= min_ready:
            raise ValueError(f"{deadline} must be greater than minReadySeconds {min_ready}")
        return deadline


WEIGHT: TypeAdapter[int] = TypeAdapter(Percent)  # setWeight
