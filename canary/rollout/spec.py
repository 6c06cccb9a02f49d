"""The Rollout and its AnalysisTemplates, read from the very files 'make deploy' applies.

Invalid specs are refused with a message naming the step and the field.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from canary.rollout import durations, expr
from canary.rollout.interfaces import MirrorRoute
from canary.rollout.web import WebCall, call_from_argo

DEFAULT_ABORT_SCALE_DOWN_S = 30
DEFAULT_SCALE_DOWN_S = 30
DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4


class SpecError(ValueError):
    """The Rollout or an AnalysisTemplate cannot be executed as written."""


def duration_s(value, where: str, parse=durations.seconds) -> float:
    """An Argo duration in seconds (read by ``parse``); SpecError names the field when it is not one."""
    try:
        return parse(value)
    except durations.DurationError as exc:
        raise SpecError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class SetWeight:
    """Give the canary this share of traffic."""

    weight: int


@dataclass(frozen=True)
class Pause:
    """Wait, for a duration or until promoted."""

    duration_s: float | None  # None: until promoted


@dataclass(frozen=True)
class Arg:
    """An analysis argument: a value, or a fieldRef into the Rollout."""

    name: str
    value: str | None = None
    field_path: str | None = None
    pod_template_hash: str | None = None  # valueFrom.podTemplateHashValue: Stable or Latest


@dataclass(frozen=True)
class Analysis:
    """Run these AnalysisTemplates; the step ends with their verdict."""

    templates: tuple[str, ...]
    args: tuple[Arg, ...] = ()


@dataclass(frozen=True)
class SetHeaderRoute:
    """Route requests matching headers to the canary (or remove the route)."""

    name: str
    match: tuple[dict, ...] = ()  # empty: remove the route


@dataclass(frozen=True)
class SetCanaryScale:
    """How many canary pods, apart from the weight (a mirror phase needs one before any weight)."""

    scale: str  # "replicas 1", "weight 10" or "matchTrafficWeight": the local canary is one process either way


@dataclass(frozen=True)
class SetMirrorRoute:
    """Copy a share of the matching requests to the canary, answered as usual (or remove the route)."""

    name: str
    percentage: int = 100  # Argo's default (rollout/trafficrouting/istio/istio.go, createMirrorRoute)
    match: tuple[dict, ...] = ()  # empty: remove the route


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


@dataclass
class RolloutSpec:
    """The Rollout as the controller executes it: steps, managed routes, delays."""

    name: str
    steps: list
    managed_routes: list[str]
    abort_scale_down_delay_s: float = DEFAULT_ABORT_SCALE_DOWN_S
    scale_down_delay_s: float = DEFAULT_SCALE_DOWN_S
    doc: dict = field(default_factory=dict)  # the Rollout as written, for fieldRef args
    templates: dict[str, Template] = field(default_factory=dict)


_STEP_FIELDS = ("setWeight", "pause", "analysis", "setHeaderRoute", "setMirrorRoute", "experiment", "setCanaryScale", "plugin")


def _step(i: int, raw: dict, managed: list[str], templates: dict):
    where = f"step {i + 1}"
    fields = [k for k in raw if k in _STEP_FIELDS]
    if len(fields) != 1 or len(raw) != 1:
        raise SpecError(f"{where}: a step has exactly one of {', '.join(_STEP_FIELDS[:4])}; found {sorted(raw) or 'none'}")
    kind, body = fields[0], raw[fields[0]]
    if kind == "setWeight":
        if not isinstance(body, int) or isinstance(body, bool) or not 0 <= body <= 100:
            raise SpecError(f"{where}: setWeight {body!r} must be a whole number from 0 to 100")
        return SetWeight(body)
    if kind == "pause":
        body = body or {}
        return Pause(duration_s(body["duration"], f"{where}: pause.duration") if "duration" in body else None)
    if kind == "analysis":
        names = tuple(t.get("templateName", "") for t in body.get("templates", []))
        if not names:
            raise SpecError(f"{where}: analysis.templates is empty")
        for name in names:
            if name not in templates:
                raise SpecError(f"{where}: analysis.templates names {name!r}, which is not an AnalysisTemplate in k8s/base")
        return Analysis(names, tuple(_arg(a, f"{where}: analysis.args") for a in body.get("args", [])))
    if kind == "setHeaderRoute":
        if body.get("name") not in managed:
            raise SpecError(f"{where}: setHeaderRoute.name {body.get('name')!r} is not in trafficRouting.managedRoutes")
        for m in body.get("match", []):
            value = m.get("headerValue", {})
            if len(value) != 1 or next(iter(value)) not in ("exact", "prefix", "regex"):
                raise SpecError(f"{where}: setHeaderRoute.match headerValue needs one of exact, prefix, regex")
        return SetHeaderRoute(body["name"], tuple(body.get("match", [])))
    if kind == "setMirrorRoute":
        return _mirror_step(where, body, managed)
    if kind == "setCanaryScale":  # utils/replicaset/canary.go GetCanaryReplicasOrWeight: replicas, then weight
        given = [f"{k} {body[k]}" if k != "matchTrafficWeight" else k for k in ("replicas", "weight", "matchTrafficWeight")
                 if body.get(k) not in (None, False)]
        return SetCanaryScale(given[0] if given else "matchTrafficWeight")
    raise SpecError(f"{where}: {kind} is valid Argo but not run by the local controller; use it on a cluster")


def _mirror_step(where: str, body: dict, managed: list[str]) -> SetMirrorRoute:
    if body.get("name") not in managed:
        raise SpecError(f"{where}: setMirrorRoute.name {body.get('name')!r} is not in trafficRouting.managedRoutes")
    percentage = body.get("percentage", 100)
    try:
        MirrorRoute.from_argo(body["name"], percentage, body.get("match") or [])
    except (ValueError, TypeError) as exc:
        raise SpecError(f"{where}: setMirrorRoute: {exc}") from None
    return SetMirrorRoute(body["name"], percentage, tuple(body.get("match") or []))


def _arg(raw: dict, where: str) -> Arg:
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


def _metric(raw: dict, where: str) -> Metric:
    where = f"{where} metric {raw.get('name')!r}"
    provider = raw.get("provider", {})
    prom, call = provider.get("prometheus"), None
    if "web" in provider:
        try:
            call = call_from_argo(provider["web"])
        except (ValueError, KeyError) as exc:
            raise SpecError(f"{where}: provider.web: {exc}") from None
    elif not prom:
        raise SpecError(f"{where}: only the prometheus and web providers run locally")
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


def parse_template(doc: dict) -> Template:
    """An AnalysisTemplate document, validated."""
    where = f"AnalysisTemplate {doc['metadata']['name']}"
    return Template(doc["metadata"]["name"], tuple(_arg(a, f"{where} args") for a in doc["spec"].get("args", [])),
                    tuple(_metric(m, where) for m in doc["spec"]["metrics"]))


def parse_rollout(doc: dict, templates: dict[str, Template]) -> RolloutSpec:
    """The Rollout document, validated against its templates."""
    canary = doc.get("spec", {}).get("strategy", {}).get("canary")
    if canary is None:
        raise SpecError(f"Rollout {doc['metadata']['name']}: only spec.strategy.canary runs locally")
    if "analysis" in canary:
        raise SpecError("Rollout: strategy.canary.analysis (background analysis) is not run by the local controller")
    managed = [r["name"] for r in canary.get("trafficRouting", {}).get("managedRoutes", [])]
    steps = [_step(i, s, managed, templates) for i, s in enumerate(canary.get("steps", []))]
    return RolloutSpec(doc["metadata"]["name"], steps, managed,
                       float(canary.get("abortScaleDownDelaySeconds", DEFAULT_ABORT_SCALE_DOWN_S)),
                       float(canary.get("scaleDownDelaySeconds", DEFAULT_SCALE_DOWN_S)), doc, templates)


def load(k8s_dir: Path) -> RolloutSpec:
    """The Rollout and every AnalysisTemplate in k8s/base."""
    docs = [d for path in sorted((Path(k8s_dir) / "base").glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]
    templates = {d["metadata"]["name"]: parse_template(d) for d in docs if d.get("kind") == "AnalysisTemplate"}
    rollouts = [d for d in docs if d.get("kind") == "Rollout"]
    if len(rollouts) != 1:
        raise SpecError(f"k8s/base holds {len(rollouts)} Rollouts; the local controller runs exactly one")
    return parse_rollout(rollouts[0], templates)
