"""Cross-references between rendered objects: the drift a schema cannot see.

Argo's own getting-started once shipped a Rollout naming VirtualServices that did
not exist; every name one object uses for another is checked here.
"""

import re

from tests.k8s.support import by_kind


def _labels_match(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _field(doc: dict, path: str):
    node = doc
    for part in (p for p in re.split(r"[.\[\]']+", path) if p):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def check(docs: list[dict]) -> list[str]:
    """Every broken reference, as a sentence naming both ends."""
    problems: list[str] = []
    services = by_kind(docs, "Service")
    templates = by_kind(docs, "AnalysisTemplate")
    vss, drs = by_kind(docs, "VirtualService"), by_kind(docs, "DestinationRule")
    gateways = by_kind(docs, "Gateway")
    accounts = by_kind(docs, "ServiceAccount")
    ns = {d["metadata"].get("namespace") for d in docs} - {None}

    for name, ro in by_kind(docs, "Rollout").items():
        pod = ro["spec"]["template"]
        labels = pod["metadata"]["labels"]
        container_ports = {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
        if not _labels_match(ro["spec"]["selector"]["matchLabels"], labels):
            problems.append(f"Rollout {name}: selector does not match its pod template labels")
        if pod["spec"].get("serviceAccountName") and pod["spec"]["serviceAccountName"] not in accounts:
            problems.append(f"Rollout {name}: ServiceAccount {pod['spec']['serviceAccountName']} does not exist")
        for c in pod["spec"]["containers"]:
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                port = c.get(probe, {}).get("httpGet", {}).get("port")
                if isinstance(port, str) and port not in container_ports:
                    problems.append(f"Rollout {name}: {probe} uses port {port}, which the container does not name")
        canary = ro["spec"]["strategy"]["canary"]
        istio = canary["trafficRouting"]["istio"]
        vs_ref, dr_ref = istio["virtualService"], istio["destinationRule"]
        vs = vss.get(vs_ref["name"])
        if vs is None:
            problems.append(f"Rollout {name}: VirtualService {vs_ref['name']} does not exist")
        else:
            route_names = {r.get("name") for r in vs["spec"]["http"]}
            for route in vs_ref.get("routes", []):
                if route not in route_names:
                    problems.append(f"Rollout {name}: VirtualService {vs_ref['name']} has no http route named {route}")
        dr = drs.get(dr_ref["name"])
        if dr is None:
            problems.append(f"Rollout {name}: DestinationRule {dr_ref['name']} does not exist")
        else:
            subsets = {s["name"] for s in dr["spec"]["subsets"]}
            for key in ("canarySubsetName", "stableSubsetName"):
                if dr_ref[key] not in subsets:
                    problems.append(f"Rollout {name}: DestinationRule {dr_ref['name']} has no subset {dr_ref[key]} ({key})")
        managed = {r["name"] for r in canary["trafficRouting"].get("managedRoutes", [])}
        for i, step in enumerate(canary["steps"], 1):
            route = step.get("setHeaderRoute") or step.get("setMirrorRoute")
            if route and route["name"] not in managed:
                problems.append(f"Rollout {name}: step {i} route {route['name']} is not in managedRoutes")
            analysis = step.get("analysis")
            if analysis:
                problems += _check_analysis(name, i, ro, analysis, templates)
        if service_selector_problem := [s for s, svc in services.items()
                                        if not _labels_match(svc["spec"]["selector"], labels)]:
            problems.append(f"Rollout {name}: Service(s) {service_selector_problem} do not select its pods")
        for sname, svc in services.items():
            for port in svc["spec"]["ports"]:
                if isinstance(port.get("targetPort"), str) and port["targetPort"] not in container_ports:
                    problems.append(f"Service {sname}: targetPort {port['targetPort']} is not a container port of Rollout {name}")

    for name, vs in vss.items():
        for gw in vs["spec"].get("gateways", []):
            if gw != "mesh" and gw not in gateways:
                problems.append(f"VirtualService {name}: Gateway {gw} does not exist")
        for route in vs["spec"]["http"]:
            for dest in route.get("route", []):
                d = dest["destination"]
                svc = services.get(d["host"].split(".")[0])
                if svc is None:
                    problems.append(f"VirtualService {name}: destination host {d['host']} is not a Service")
                    continue
                if "port" in d and d["port"]["number"] not in {p["port"] for p in svc["spec"]["ports"]}:
                    problems.append(f"VirtualService {name}: port {d['port']['number']} is not a port of Service {d['host']}")
                dr = next((r for r in drs.values() if r["spec"]["host"] == d["host"]), None)
                if "subset" in d and (dr is None or d["subset"] not in {s["name"] for s in dr["spec"]["subsets"]}):
                    problems.append(f"VirtualService {name}: subset {d['subset']} of {d['host']} is not in a DestinationRule")
    for name, dr in drs.items():
        if dr["spec"]["host"].split(".")[0] not in services:
            problems.append(f"DestinationRule {name}: host {dr['spec']['host']} is not a Service")

    problems += _check_scaling_and_access(docs, accounts, ns)
    return problems


def _check_analysis(name, i, ro, analysis, templates) -> list[str]:
    problems = []
    given = {a["name"]: a for a in analysis.get("args", [])}
    declared: set[str] = set()
    for ref in analysis["templates"]:
        template = templates.get(ref["templateName"])
        if template is None:
            problems.append(f"Rollout {name}: step {i} AnalysisTemplate {ref['templateName']} does not exist")
            continue
        for arg in template["spec"].get("args", []):
            declared.add(arg["name"])
            if "value" not in arg and "valueFrom" not in arg and arg["name"] not in given:
                problems.append(f"Rollout {name}: step {i} does not pass required arg {arg['name']} of {ref['templateName']}")
    for arg_name, arg in given.items():
        if arg_name not in declared:
            problems.append(f"Rollout {name}: step {i} passes arg {arg_name}, which no template declares")
        path = arg.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        if path:
            try:
                _field(ro, path)
            except (KeyError, IndexError, ValueError):
                problems.append(f"Rollout {name}: step {i} arg {arg_name} reads {path}, which the Rollout does not have")
    return problems


def _check_scaling_and_access(docs, accounts, namespaces) -> list[str]:
    problems = []
    rollouts = by_kind(docs, "Rollout")
    pod_labels = [ro["spec"]["template"]["metadata"]["labels"] for ro in rollouts.values()]
    pod_labels += [d["spec"]["template"]["metadata"].get("labels", {}) for d in docs if d["kind"] == "Job"]
    for name, hpa in by_kind(docs, "HorizontalPodAutoscaler").items():
        ref = hpa["spec"]["scaleTargetRef"]
        if ref["kind"] == "Rollout" and ref["name"] not in rollouts:
            problems.append(f"HorizontalPodAutoscaler {name}: Rollout {ref['name']} does not exist")
    for kind in ("PodDisruptionBudget", "PodMonitor"):
        for name, obj in by_kind(docs, kind).items():
            sel = obj["spec"]["selector"]["matchLabels"]
            if not any(_labels_match(sel, labels) for labels in pod_labels):
                problems.append(f"{kind} {name}: selector {sel} matches no pod template")
    for name, pm in by_kind(docs, "PodMonitor").items():
        ports = {p["name"] for ro in rollouts.values() for c in ro["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for ep in pm["spec"]["podMetricsEndpoints"]:
            if ep["port"] not in ports:
                problems.append(f"PodMonitor {name}: port {ep['port']} is not a container port")
    roles = by_kind(docs, "Role")
    for name, rb in by_kind(docs, "RoleBinding").items():
        if rb["roleRef"]["kind"] == "Role" and rb["roleRef"]["name"] not in roles:
            problems.append(f"RoleBinding {name}: Role {rb['roleRef']['name']} does not exist")
        for subject in rb["subjects"]:
            if subject["kind"] == "ServiceAccount" and subject["name"] not in accounts:
                problems.append(f"RoleBinding {name}: ServiceAccount {subject['name']} does not exist")
    for name, ap in by_kind(docs, "AuthorizationPolicy").items():
        for rule in ap["spec"].get("rules", []):
            for source in rule.get("from", []):
                for principal in source["source"].get("principals", []):
                    _, ns, _, sa = principal.split("/")[1:5]
                    if ns in namespaces and sa not in accounts:
                        problems.append(f"AuthorizationPolicy {name}: principal {principal} names a missing ServiceAccount")
    return problems
