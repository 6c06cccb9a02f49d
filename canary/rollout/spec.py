"""The Rollout and its AnalysisTemplates, read from the very files 'make deploy' applies.

Invalid specs are refused with a message naming the step and the field. The step kinds and
their fields live in canary.rollout.kinds, the templates in canary.rollout.template.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from canary.rollout import kinds
from canary.rollout.kinds import Analysis, Pause, SetCanaryScale, SetHeaderRoute, SetMirrorRoute, SetWeight, Step
from canary.rollout.template import Arg, Metric, SpecError, Template, duration_s, parse_template

__all__ = ["Analysis", "Arg", "Metric", "Pause", "RolloutSpec", "SetCanaryScale", "SetHeaderRoute", "SetMirrorRoute",
           "SetWeight", "SpecError", "Step", "Template", "duration_s", "load", "parse_rollout", "parse_template"]

DEFAULT_ABORT_SCALE_DOWN_S = 30
DEFAULT_SCALE_DOWN_S = 30
DEFAULT_PROGRESS_DEADLINE_S = 600  # Argo's defaults.DefaultProgressDeadlineSeconds


@dataclass
class RolloutSpec:
    """The Rollout as the controller executes it: steps, managed routes, delays, the progress deadline."""

    name: str
    steps: list[Step]
    managed_routes: list[str]
    abort_scale_down_delay_s: float = DEFAULT_ABORT_SCALE_DOWN_S
    scale_down_delay_s: float = DEFAULT_SCALE_DOWN_S
    doc: dict[str, Any] = field(default_factory=dict)  # the Rollout as written, for fieldRef args
    templates: dict[str, Template] = field(default_factory=dict)
    progress_deadline_s: float = DEFAULT_PROGRESS_DEADLINE_S
    progress_deadline_abort: bool = False


def _step(i: int, raw: dict[str, Any], managed: list[str], templates: dict[str, Template]) -> Step:
    return kinds.parse(raw, kinds.Parsing(f"step {i + 1}", managed, templates))


def _progress_deadline(spec: dict[str, Any]) -> tuple[float, bool]:
    """spec.progressDeadlineSeconds as Argo validates it (pkg/apis/rollouts/validation/validation.go,
    ValidateRolloutSpec): a whole number, not negative and greater than minReadySeconds."""
    value, min_ready = spec.get("progressDeadlineSeconds", DEFAULT_PROGRESS_DEADLINE_S), spec.get("minReadySeconds", 0)
    for name, number in (("progressDeadlineSeconds", value), ("minReadySeconds", min_ready)):
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise SpecError(f"Rollout: spec.{name} {number!r} must be a whole number of seconds, not negative")
    if value <= min_ready:
        raise SpecError(f"Rollout: spec.progressDeadlineSeconds {value} must be greater than minReadySeconds {min_ready}")
    return float(value), bool(spec.get("progressDeadlineAbort"))


def parse_rollout(doc: dict[str, Any], templates: dict[str, Template]) -> RolloutSpec:
    """The Rollout document, validated against its templates."""
    spec = doc.get("spec", {})
    canary = spec.get("strategy", {}).get("canary")
    if canary is None:
        raise SpecError(f"Rollout {doc['metadata']['name']}: only spec.strategy.canary runs locally")
    if "analysis" in canary:
        raise SpecError("Rollout: strategy.canary.analysis (background analysis) is not run by the local controller")
    managed = [r["name"] for r in canary.get("trafficRouting", {}).get("managedRoutes", [])]
    steps = [_step(i, s, managed, templates) for i, s in enumerate(canary.get("steps", []))]
    deadline, deadline_abort = _progress_deadline(spec)
    return RolloutSpec(doc["metadata"]["name"], steps, managed,
                       float(canary.get("abortScaleDownDelaySeconds", DEFAULT_ABORT_SCALE_DOWN_S)),
                       float(canary.get("scaleDownDelaySeconds", DEFAULT_SCALE_DOWN_S)), doc, templates,
                       deadline, deadline_abort)


def load(k8s_dir: Path) -> RolloutSpec:
    """The Rollout and every AnalysisTemplate in k8s/base."""
    docs = [d for path in sorted((Path(k8s_dir) / "base").glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]
    templates = {d["metadata"]["name"]: parse_template(d) for d in docs if d.get("kind") == "AnalysisTemplate"}
    rollouts = [d for d in docs if d.get("kind") == "Rollout"]
    if len(rollouts) != 1:
        raise SpecError(f"k8s/base holds {len(rollouts)} Rollouts; the local controller runs exactly one")
    return parse_rollout(rollouts[0], templates)
