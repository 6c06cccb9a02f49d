"""An AnalysisTemplate as the controller runs it: its args and metrics, validated where Argo would refuse them."""

from dataclasses import dataclass
from typing import Any

from canary.rollout import durations, expr
from canary.rollout.web import WebCall, call_from_argo

DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4


class SpecError(ValueError):
    """The Rollout or an AnalysisTemplate cannot be executed as written."""


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
    query: str
    address: str
    web: WebCall | None = None  # provider.web; None: provider.prometheus (query, address)
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


def parse_arg(raw: dict[str, Any], where: str) -> Arg:
    """An ``args`` entry of a template or an analysis step."""
    if "name" not in raw:
        raise SpecError(f"{where}: an arg needs a name")
    value_from = raw.get("valueFrom", {})
    if "secretKeyRef" in value_from:
        raise SpecError(f"{where}: arg {raw['name']}: valueFrom secretKeyRef is not available on one machine")
    pod_hash = value_from.get("podTemplateHashValue")
    if pod_hash not in (None, "Stable", "Latest"):  # the CRD's enum (argo-rollouts.rollout.yaml)
        raise SpecError(f"{where}: arg {raw['name']}: podTemplateHashValue {pod_hash!r} is not Stable or Latest")
    return Arg(raw["name"], None if raw.get("value") is None else str(raw["value"]),
               value_from.get("fieldRef", {}).get("fieldPath"), pod_hash)


def _provider(raw: dict[str, Any], where: str) -> tuple[dict[str, Any] | None, WebCall | None]:
    provider = raw.get("provider", {})
    prom, call = provider.get("prometheus"), None
    if "web" in provider:
        try:
            call = call_from_argo(provider["web"])
        except (ValueError, KeyError) as exc:
            raise SpecError(f"{where}: provider.web: {exc}") from None
    elif not prom:
        raise SpecError(f"{where}: only the prometheus and web providers run locally")
    return prom, call


def _metric(raw: dict[str, Any], where: str) -> Metric:
    where = f"{where} metric {raw.get('name')!r}"
    prom, call = _provider(raw, where)
    for key in ("successCondition", "failureCondition"):
        if raw.get(key):
            try:
                expr.check(raw[key])
            except expr.EvaluationError as exc:
                raise SpecError(f"{where}: {key}: {exc}") from None
    count = raw.get("count")
    return Metric(
        name=raw["name"], query=prom["query"] if prom else "", address=prom.get("address", "") if prom else "", web=call,
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
    return Template(doc["metadata"]["name"], tuple(parse_arg(a, f"{where} args") for a in doc["spec"].get("args", [])),
                    tuple(_metric(m, where) for m in doc["spec"]["metrics"]))
