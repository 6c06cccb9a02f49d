"""Argo Rollouts' own validation of the Rollout and its analysis, beyond the CRD schema.

The controller refuses a Rollout it cannot run and marks it InvalidSpec, which
`kubectl apply` never shows. Each rule names the function of argoproj/argo-rollouts
it follows (pkg/apis/rollouts/validation/validation.go unless said otherwise); only
what the shipped manifests use is encoded.
"""

import re

from tests.k8s.support import by_kind

_ARG = re.compile(r"{{\s*(.*?)\s*}}")  # utils/template/template.go, resolve: {{ tag }} with spaces trimmed
_ONE_OF = ("setWeight", "pause", "experiment", "analysis")  # hasMultipleStepsType's mutually exclusive kinds
_KINDS = _ONE_OF + ("setCanaryScale", "setHeaderRoute", "setMirrorRoute", "plugin")


def _step(i: int, step: dict, canary: dict) -> list[str]:
    """ValidateRolloutStrategyCanary, per step."""
    where, problems = f"Rollout step {i + 1}", []
    if sum(k in step for k in _ONE_OF) > 1 or not any(k in step for k in _KINDS):
        problems.append(f"{where}: Step must have one of the following set: experiment, setWeight, setCanaryScale, "
                        "plugin or pause")
    if "setWeight" in step and not 0 <= step["setWeight"] <= 100:
        problems.append(f"{where}: SetWeight needs to be between 0 and 100")
    routing = canary.get("trafficRouting") or {}
    managed = [r["name"] for r in routing.get("managedRoutes", [])]
    for kind in ("setHeaderRoute", "setMirrorRoute"):
        if kind not in step:
            continue
        if "istio" not in routing:
            problems.append(f"{where}: {kind} requires Istio traffic routing (or ALB, Apisix, a plugin)")
        if step[kind].get("name") not in managed:
            problems.append(f"{where}: Steps define a route that does not exist in "
                            "spec.strategy.canary.trafficRouting.managedRoutes")
        for match in step[kind].get("match", []):  # hasMultipleMatchValues
            for value in [match.get("headerValue")] if kind == "setHeaderRoute" else [match.get("path"), match.get("method")]:
                if value is not None and sum(bool(value.get(k)) for k in ("exact", "regex", "prefix")) != 1:
                    problems.append(f"{where}: StringMatch match value must have exactly one of the following: "
                                    "exact, regex, prefix")
    if "setCanaryScale" in step and not routing:
        problems.append(f"{where}: SetCanaryScale requires TrafficRouting to be set")
    return problems


def _routes(canary: dict, services: dict) -> list[str]:
    """ValidateVirtualService and rollout/trafficrouting/istio/istio.go, ValidateHTTPRoutes:
    each named route exists and sends to both the canary and the stable subset."""
    istio, problems = canary.get("trafficRouting", {}).get("istio"), []
    if not istio:
        return problems
    rule = istio.get("destinationRule", {})
    for ref in istio.get("virtualServices") or [istio.get("virtualService", {})]:
        vs = services.get(ref.get("name", "").rpartition("/")[2])
        if vs is None:
            continue  # crossref reports the missing object
        http = {r.get("name"): r for r in vs["spec"].get("http", [])}
        for name in ref.get("routes", []):
            if name not in http:
                problems.append(f"HTTP Route '{name}' is not found in the defined Virtual Service.")
                continue
            subsets = {d["destination"].get("subset") for d in http[name].get("route", [])}
            for side in ("canary", "stable"):
                wanted = rule.get(f"{side}SubsetName")
                if rule and wanted not in subsets:
                    problems.append(f"{side.capitalize()} DestinationRule subset '{wanted}' not found in route")
    return problems


def _analysis(i: int, step: dict, templates: dict) -> list[str]:
    """ValidateAnalysisTemplateWithType and ResolveArgs (utils/template/template.go) for one step's templates."""
    problems, given = [], {a["name"] for a in step.get("args", [])}
    for ref in step.get("templates", []):
        template = templates.get(ref["templateName"])
        if template is None:
            continue
        args = {a["name"] for a in template["spec"].get("args", [])}
        for arg in template["spec"].get("args", []) + step.get("args", []):
            if "value" in arg and "valueFrom" in arg:
                problems.append(f"arg '{arg['name']}' has both Value and ValueFrom fields")
        for metric in template["spec"].get("metrics", []):
            if not metric.get("count") and metric.get("interval"):  # Metric.EffectiveCount is nil
                problems.append(f"AnalysisTemplate {ref['templateName']} has metric {metric['name']} which runs "
                                "indefinitely. Invalid value for count")
            for tag in _ARG.findall(str(metric)):
                if not (tag.startswith("args.") and tag[5:] in args | given):
                    problems.append(f"step {i + 1}: AnalysisTemplate {ref['templateName']}: failed to resolve {{{{{tag}}}}}")
    return problems


def check(docs: list[dict]) -> list[str]:
    """Every rule above on every Rollout."""
    problems, services, templates = [], by_kind(docs, "VirtualService"), by_kind(docs, "AnalysisTemplate")
    for ro in by_kind(docs, "Rollout").values():
        spec, canary = ro["spec"], ro["spec"]["strategy"].get("canary", {})
        if spec.get("progressDeadlineSeconds", 600) <= spec.get("minReadySeconds", 0):  # ValidateRolloutSpec
            problems.append("progressDeadlineSeconds must be greater than minReadySeconds")
        labels = spec["template"]["metadata"].get("labels", {})  # ValidatePodTemplateSpecForReplicaSet (kubernetes)
        if any(labels.get(k) != v for k, v in spec["selector"].get("matchLabels", {}).items()):
            problems.append("`selector` does not match template `labels`")
        for i, step in enumerate(canary.get("steps", [])):
            problems += _step(i, step, canary)
            if "analysis" in step:
                problems += _analysis(i, step["analysis"], templates)
        problems += _routes(canary, services)
    return problems
