"""The Rollout and its AnalysisTemplates, read from the very files 'make deploy' applies.

Invalid specs are refused with a message naming the step and the field. The step kinds and
their fields live in canary.rollout.kinds, the templates in canary.rollout.template.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter

from canary.rollout import kinds
from canary.rollout.kinds import Analysis, Pause, SetCanaryScale, SetHeaderRoute, SetMirrorRoute, SetWeight, Step
from canary.rollout.schema import (
    DEFAULT_ABORT_SCALE_DOWN_S,
    DEFAULT_PROGRESS_DEADLINE_S,
    DEFAULT_SCALE_DOWN_S,
    RolloutDoc,
    SpecError,
    validated,
)
from canary.rollout.template import Arg, Metric, Template, duration_s, parse_template

__all__ = ["Analysis", "Arg", "Metric", "Pause", "RolloutSpec", "SetCanaryScale", "SetHeaderRoute", "SetMirrorRoute",
           "SetWeight", "SpecError", "Step", "Template", "duration_s", "load", "parse_rollout", "parse_template"]



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


_ROLLOUT = TypeAdapter(RolloutDoc)


def parse_rollout(doc: dict[str, Any], templates: dict[str, Template]) -> RolloutSpec:
    """The Rollout document, validated (canary.rollout.schema) and its steps against its templates."""
    name = doc["metadata"]["name"]
    fields = validated(_ROLLOUT, doc.get("spec") or {}, f"Rollout {name}", "spec")
    canary = fields.strategy.canary
    if canary is None:
        raise SpecError(f"Rollout {name}: only spec.strategy.canary runs locally")
    if canary.analysis is not None:
        raise SpecError("Rollout: strategy.canary.analysis (background analysis) is not run by the local controller")
    steps = [_step(i, s, canary.managed_routes, templates) for i, s in enumerate(canary.steps)]
    return RolloutSpec(name, steps, canary.managed_routes, float(canary.abortScaleDownDelaySeconds),
                       float(canary.scaleDownDelaySeconds), doc, templates, float(fields.progressDeadlineSeconds),
                       fields.progressDeadlineAbort)


def load(k8s_dir: Path) -> RolloutSpec:
    """The Rollout and every AnalysisTemplate in k8s/base."""
    docs = [d for path in sorted((Path(k8s_dir) / "base").glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]
    templates = {d["metadata"]["name"]: parse_template(d) for d in docs if d.get("kind") == "AnalysisTemplate"}
    rollouts = [d for d in docs if d.get("kind") == "Rollout"]
    if len(rollouts) != 1:
        raise SpecError(f"k8s/base holds {len(rollouts)} Rollouts; the local controller runs exactly one")
    return parse_rollout(rollouts[0], templates)
