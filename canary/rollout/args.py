"""AnalysisTemplate arguments: defaults, the step's values, fieldRef paths and pod-template hashes, substitution."""

import dataclasses
import re
from typing import Any

from canary.rollout import spec

UNKNOWN_REVISION = "unknown"  # what a check before the canary exists resolves podTemplateHashValue to


def resolve(rollout: spec.RolloutSpec, step: spec.Step, version: str, local: dict[str, str],
            revisions: dict[str, str | None]) -> dict[str, str]:
    """Template defaults, then the step's args; fieldRef paths read the Rollout being rolled out,
    podTemplateHashValue reads ``revisions`` (``{"Stable": ..., "Latest": ...}``), and an arg named
    in ``local`` (the addresses of this machine's Prometheus and judge) takes that value."""
    template = rollout.doc["spec"]["template"]
    doc = {**rollout.doc, "spec": {**rollout.doc["spec"], "template": {
        **template, "metadata": {"labels": {**template["metadata"]["labels"], "version": version}}}}}
    values: dict[str, str | None] = {}
    for name in step.templates_used():
        for arg in rollout.templates[name].args:
            values.setdefault(arg.name, arg.value)
    for arg in step.args_used():
        if arg.pod_template_hash:
            values[arg.name] = revisions.get(arg.pod_template_hash)
        else:
            values[arg.name] = field(doc, arg.field_path) if arg.field_path else arg.value
    values.update({k: v for k, v in local.items() if k in values})
    missing = [k for k, v in values.items() if v is None]
    if missing:
        raise spec.SpecError(f"analysis {', '.join(step.templates_used())}: no value for required args {missing}")
    return {k: v for k, v in values.items() if v is not None}


def metrics_for(rollout: spec.RolloutSpec, step: spec.Step, version: str, local: dict[str, str],
                revisions: dict[str, str | None]) -> list[spec.Metric]:
    """The step's metrics (none for a step that runs no template) with every {{args.x}} replaced."""
    if not step.templates_used():
        return []
    values = resolve(rollout, step, version, local, revisions)
    return [_substituted(m, values) for name in step.templates_used() for m in rollout.templates[name].metrics]


def _substituted(metric: spec.Metric, values: dict[str, str]) -> spec.Metric:
    return dataclasses.replace(metric, source=metric.source.substituted(lambda text: substitute(text, values)))


def substitute(text: str, values: dict[str, str]) -> str:
    """Replace every {{args.name}} Argo would replace."""
    return re.sub(r"\{\{\s*args\.([\w-]+)\s*\}\}", lambda m: values.get(m.group(1), m.group(0)), text)


def field(doc: dict[str, Any], path: str) -> str:
    """A fieldRef path (spec.template.metadata.labels['version']) read from the Rollout."""
    node: Any = doc
    for part in (p for p in re.split(r"[.\[\]']+", path) if p):
        node = node[int(part)] if isinstance(node, list) else node.get(part) if isinstance(node, dict) else None
        if node is None:
            raise spec.SpecError(f"fieldRef {path}: not found in the Rollout")
    return str(node)
