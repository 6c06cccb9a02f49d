"""AnalysisTemplate arguments: defaults, the step's values, fieldRef paths into the Rollout, substitution."""

import re
from dataclasses import asdict

from canary.rollout import spec


def resolve(rollout: spec.RolloutSpec, step: spec.Analysis, version: str, prometheus_address: str) -> dict[str, str]:
    """Template defaults, then the step's args; fieldRef paths read the Rollout being rolled out."""
    template = rollout.doc["spec"]["template"]
    doc = {**rollout.doc, "spec": {**rollout.doc["spec"], "template": {
        **template, "metadata": {"labels": {**template["metadata"]["labels"], "version": version}}}}}
    values: dict[str, str | None] = {}
    for name in step.templates:
        for arg in rollout.templates[name].args:
            values.setdefault(arg.name, arg.value)
    for arg in step.args:
        values[arg.name] = field(doc, arg.field_path) if arg.field_path else arg.value
    # The one local substitution: the templates' Prometheus is this machine's.
    if "prometheus-address" in values:
        values["prometheus-address"] = prometheus_address
    missing = [k for k, v in values.items() if v is None]
    if missing:
        raise spec.SpecError(f"analysis {', '.join(step.templates)}: no value for required args {missing}")
    return values


def metrics_for(rollout: spec.RolloutSpec, step: spec.Analysis, version: str, prometheus_address: str) -> list[spec.Metric]:
    """The step's metrics with every {{args.x}} in query and address replaced."""
    values = resolve(rollout, step, version, prometheus_address)
    return [spec.Metric(**{**asdict(m), "query": substitute(m.query, values), "address": substitute(m.address, values)})
            for name in step.templates for m in rollout.templates[name].metrics]


def substitute(text: str, values: dict) -> str:
    """Replace every {{args.name}} Argo would replace."""
    return re.sub(r"\{\{\s*args\.([\w-]+)\s*\}\}", lambda m: values.get(m.group(1), m.group(0)), text)


def field(doc: dict, path: str) -> str:
    """A fieldRef path (spec.template.metadata.labels['version']) read from the Rollout."""
    node = doc
    for part in (p for p in re.split(r"[.\[\]']+", path) if p):
        node = node[int(part)] if isinstance(node, list) else node.get(part) if isinstance(node, dict) else None
        if node is None:
            raise spec.SpecError(f"fieldRef {path}: not found in the Rollout")
    return str(node)
