"""An AnalysisTemplate as the controller runs it: its args and metrics, validated where Argo would refuse them."""

from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from canary.rollout import durations, expr
from canary.rollout.providers import SOURCES, MetricSource, PrometheusQuery
from canary.rollout.schema import ArgDoc, SpecError, validated

DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4


def duration_s(value: Any, where: str, parse: Any = durations.seconds) -> float:
    """An Argo duration in seconds (read by ``parse``); SpecError names the field when it is not one."""
    try:
        return float(parse(value))
    except durations.DurationError as exc:
        raise SpecError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class Arg:
    """An analysis argument: a value, or a fieldRef into the Rollout."""

    name: str
    value: str | None = None
    field_path: str | None = None
    pod_template_hash: str | None = None  # valueFrom.podTemplateHashValue: Stable or Latest


@dataclass(frozen=True)
class Metric:
    """One AnalysisTemplate metric with its query, conditions, timing and limits."""

    name: str
    source: MetricSource = field(default_factory=PrometheusQuery)  # its provider (canary.rollout.providers)
    interval_s: float | None = None
    count: int | None = None
    initial_delay_s: float = 0.0
    success_condition: str = ""
    failure_condition: str = ""
    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = DEFAULT_CONSECUTIVE_ERROR_LIMIT


@dataclass(frozen=True)
class Template:
    """An AnalysisTemplate: its args and metrics."""

    name: str
    args: tuple[Arg, ...]
    metrics: tuple[Metric, ...]


_ARGS: TypeAdapter[list[ArgDoc]] = TypeAdapter(list[ArgDoc])


def parse_args(raw: Any, where: str, field: str) -> tuple[Arg, ...]:
    """The ``args`` of a template or an analysis step (``field`` names them in a refusal)."""
    args = validated(_ARGS, raw if raw is not None else [], where, field)
    return tuple(Arg(a.name, None if a.value is None else str(a.value),
                     (a.valueFrom.fieldRef or {}).get("fieldPath") if a.valueFrom else None,
                     a.valueFrom.podTemplateHashValue if a.valueFrom else None) for a in args)


def _source(raw: dict[str, Any], where: str) -> MetricSource:
    """Exactly one provider, as Argo's utils/analysis/factory.go ValidateMetric requires; one that runs here."""
    provider = raw.get("provider") or {}
    if len(provider) != 1:
        raise SpecError(f"{where}: {'multiple providers' if provider else 'no provider'} specified")
    (name, body), = provider.items()
    if name not in SOURCES:
        raise SpecError(f"{where}: only the {' and '.join(SOURCES)} providers run locally")
    try:
        return SOURCES[name](body or {})
    except (ValueError, KeyError, TypeError) as exc:
        raise SpecError(f"{where}: provider.{name}: {exc}") from None


def _metric(raw: dict[str, Any], where: str) -> Metric:
    where = f"{where} metric {raw.get('name')!r}"
    source = _source(raw, where)
    for key in ("successCondition", "failureCondition"):
        if raw.get(key):
            try:
                expr.check(raw[key])
            except expr.EvaluationError as exc:
                raise SpecError(f"{where}: {key}: {exc}") from None
    count = raw.get("count")
    return Metric(
        name=raw["name"], source=source,
        interval_s=duration_s(raw["interval"], f"{where}: interval", durations.interval_s) if raw.get("interval") else None,
        count=int(count) if count is not None else None,
        initial_delay_s=duration_s(raw["initialDelay"], f"{where}: initialDelay") if raw.get("initialDelay") else 0.0,
        success_condition=raw.get("successCondition", ""), failure_condition=raw.get("failureCondition", ""),
        failure_limit=int(raw.get("failureLimit", 0)), inconclusive_limit=int(raw.get("inconclusiveLimit", 0)),
        consecutive_error_limit=int(raw.get("consecutiveErrorLimit", DEFAULT_CONSECUTIVE_ERROR_LIMIT)),
    )


def parse_template(doc: dict[str, Any]) -> Template:
    """An AnalysisTemplate document, validated."""
    where = f"AnalysisTemplate {doc['metadata']['name']}"
    return Template(doc["metadata"]["name"], parse_args(doc["spec"].get("args"), where, "args"),
                    tuple(_metric(m, where) for m in doc["spec"]["metrics"]))
