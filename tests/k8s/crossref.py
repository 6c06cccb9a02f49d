"""Cross-references between rendered objects: the drift a schema cannot see.

Argo's own getting-started once shipped a Rollout naming VirtualServices that did
not exist; every name one object uses for another is checked here.
"""

import re

from tests.k8s import answer_shards, delegation, feedback_routes, managed_routes, mirror_routes
from tests.k8s.support import by_kind


def _labels_match(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# Istio's injector adds the istio-proxy container, whose Prometheus port has this name
# (istio's manifests/charts/istio-control/istio-discovery/files/injection-template.yaml).
INJECTED_PORTS = {"http-envoy-prom"}
WORKLOADS = ("Rollout", "Deployment", "StatefulSet", "Job")  # the kinds whose pod templates run here


def pods(docs: list[dict]) -> dict[str, dict]:
    """Every pod template, by "Kind name": Rollouts, Deployments, StatefulSets and Jobs."""
    return {f"{d['kind']} {d['metadata']['name']}": d["spec"]["template"] for d in docs if d["kind"] in WORKLOADS}


def _ports(pod: dict) -> set[str]:
    named = {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", []) if "name" in p}
    injected = pod["metadata"].get("annotations", {}).get("sidecar.istio.io/inject") != "false"
    return named | (INJECTED_PORTS if injected else set())


def _elsewhere(obj: dict) -> bool:
    """A monitor of pods in other namespaces only."""
    names = obj["spec"].get("namespaceSelector", {}).get("matchNames")
    return bool(names) and obj["metadata"].get("namespace") not in names


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
    problems += feedback_routes.check(docs) + mirror_routes.check(docs) + managed_routes.check(docs)
    problems += answer_shards.check(docs)

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
        dr_ref = istio["destinationRule"]
        for vs_ref in delegation.listed(ro):
            vs = vss.get(vs_ref["name"])
            route_names = {r.get("name") for r in (vs or {"spec": {"http": []}})["spec"]["http"]}
            if vs is None:
                problems.append(f"Rollout {name}: VirtualService {vs_ref['name']} does not exist")
            problems += [f"Rollout {name}: VirtualService {vs_ref['name']} has no http route named {route}"
                         for route in vs_ref.get("routes", []) if vs is not None and route not in route_names]
        dr = drs.get(dr_ref["name"])
        if dr is None:
            problems.append(f"Rollout {name}: DestinationRule {dr_ref['name']} does not exist")
        else:
            subsets = {s["name"] for s in dr["spec"]["subsets"]}
            for key in ("canarySubsetName", "stableSubsetName"):
                if dr_ref[key] not in subsets:
                    problems.append(f"Rollout {name}: DestinationRule {dr_ref['name']} has no subset {dr_ref[key]} ({key})")
        managed = {r["name"] for r in canary["trafficRouting"].get("managedRoutes", [])}
        weight = 0
        for i, step in enumerate(canary["steps"], 1):
            weight = step.get("setWeight", weight)
            route = step.get("setHeaderRoute") or step.get("setMirrorRoute")
            if route and route["name"] not in managed:
                problems.append(f"Rollout {name}: step {i} route {route['name']} is not in managedRoutes")
            analysis = step.get("analysis")
            if analysis:
                problems += _check_analysis(name, i, ro, analysis, templates)
                # The judge takes the canary's traffic share from this arg: it must be the weight in force.
                given = {a["name"]: a.get("value") for a in analysis.get("args", [])}
                if "canary-weight" in given and given["canary-weight"] != str(weight):
                    problems.append(f"Rollout {name}: step {i} passes canary-weight {given['canary-weight']}, "
                                    f"but the weight in force is {weight}")
        if not any(_labels_match(svc["spec"]["selector"], labels) for svc in services.values()):
            problems.append(f"Rollout {name}: no Service selects its pods")
    problems += _check_services(docs, services)

    for name, vs in vss.items():
        for gw in vs["spec"].get("gateways", []):
            if gw != "mesh" and gw not in gateways:
                problems.append(f"VirtualService {name}: Gateway {gw} does not exist")
        problems += [f"VirtualService {name}: delegate {r['delegate']['name']} does not exist"
                     for r in vs["spec"]["http"] if "delegate" in r and r["delegate"]["name"] not in vss]
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


def _check_services(docs: list[dict], services: dict) -> list[str]:
    """Every Service selects pods, and its named targetPorts are ports of every pod it selects."""
    problems = []
    for sname, svc in services.items():
        selected = {w: pod for w, pod in pods(docs).items()
                    if _labels_match(svc["spec"]["selector"], pod["metadata"].get("labels", {}))}
        if not selected:
            problems.append(f"Service {sname}: its selector {svc['spec']['selector']} does not select any pods")
        for port in svc["spec"]["ports"]:
            for workload, pod in selected.items():
                if isinstance(port.get("targetPort"), str) and port["targetPort"] not in _ports(pod):
                    problems.append(f"Service {sname}: targetPort {port['targetPort']} is not a container port of {workload}")
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
        pod_hash = arg.get("valueFrom", {}).get("podTemplateHashValue")
        if pod_hash is not None and pod_hash not in ("Stable", "Latest"):
            problems.append(f"Rollout {name}: step {i} arg {arg_name}: podTemplateHashValue {pod_hash} is not Stable or Latest")
        path = arg.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        if path:
            try:
                _field(ro, path)
            except (KeyError, IndexError, ValueError):
                problems.append(f"Rollout {name}: step {i} arg {arg_name} reads {path}, which the Rollout does not have")
    return problems


def _running_labels(docs: list[dict]) -> list[dict]:
    """Each pod's labels as it runs: a Rollout's pods also carry its stableMetadata or its canaryMetadata labels."""
    out = []
    for d in (d for d in docs if d["kind"] in WORKLOADS):
        labels = d["spec"]["template"]["metadata"].get("labels", {})
        canary = d["spec"].get("strategy", {}).get("canary", {}) if d["kind"] == "Rollout" else {}
        roles = [canary.get(k, {}).get("labels", {}) for k in ("stableMetadata", "canaryMetadata")]
        out += [{**labels, **extra} for extra in roles] if any(roles) else [labels]
    return out


def _check_scaling_and_access(docs, accounts, namespaces) -> list[str]:
    problems = []
    rollouts = by_kind(docs, "Rollout")
    pod_labels = _running_labels(docs)
    for name, hpa in by_kind(docs, "HorizontalPodAutoscaler").items():
        ref = hpa["spec"]["scaleTargetRef"]
        if ref["kind"] == "Rollout" and ref["name"] not in rollouts:
            problems.append(f"HorizontalPodAutoscaler {name}: Rollout {ref['name']} does not exist")
    for kind in ("PodDisruptionBudget", "PodMonitor"):
        for name, obj in by_kind(docs, kind).items():
            if _elsewhere(obj):
                continue  # another namespace's pods (the ingress gateway): a documented prerequisite
            sel = obj["spec"]["selector"]["matchLabels"]
            if not any(_labels_match(sel, labels) for labels in pod_labels):
                problems.append(f"{kind} {name}: selector {sel} matches no pod template")
    for name, pm in by_kind(docs, "PodMonitor").items():
        selected = [pod for pod in pods(docs).values()
                    if _labels_match(pm["spec"]["selector"]["matchLabels"], pod["metadata"].get("labels", {}))]
        for ep in pm["spec"]["podMetricsEndpoints"]:
            if selected and any(ep["port"] not in _ports(pod) for pod in selected):
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
