"""Metrics wiring: every series that a rule, an analysis, the judge or a dashboard panel reads is
recorded by a rule or scraped by a shipped PodMonitor from the pods that produce it, carries the
labels the reader selects on, and Prometheus is let through to every scraped port."""

import re

import pytest
import yaml

from canary.judge.source import DISAGREEMENTS_TOTAL, PAIRS_TOTAL, SOURCES
from tests.k8s import crossref, reach
from tests.k8s.support import ROOT, by_kind, model_name, problems_after, render
from tests.k8s.test_prometheus import _queries, promtool
from tests.k8s.test_reach import PROMETHEUS, _workload

pytestmark = pytest.mark.tools

KUBERNETES_DOC = ROOT / "docs" / "kubernetes.md"
# Who exposes what (docs/metrics.md): name prefix -> (workload, container port name, path); the Rollout is
# named after the model (hack/render.sh MODEL).
PRODUCERS = {
    "istio_": ("Rollout {model}", "http-envoy-prom", "/stats/prometheus"),  # the injected sidecar
    "mlcanary_judge_": ("StatefulSet ml-canary-judge", "http", "/metrics"),
    "mlcanary_": ("Rollout {model}", "http-metrics", "/metrics"),  # the runtimes' custom metrics
}
# Series whose revision label their producer sets itself (the judge's joined pairs): the scrape must keep it.
OWN_REVISION = ("mlcanary_judge_",)
# Series from components the cluster brings, each a prerequisite docs/kubernetes.md names.
PREREQUISITES = {"rollout_info", "analysis_run_metric_phase"}  # Argo Rollouts' controller metrics
_PROMQL_WORDS = {"sum", "rate", "by", "and", "or", "on", "ignoring", "group_left", "group_right", "histogram_quantile",
                 "label_replace", "clamp_min", "vector", "absent", "le", "without", "unless", "increase", "bool"}


def _reads(docs) -> list[tuple[str, str]]:
    """(series name, label matchers) of every selector outside the recording rules' outputs."""
    exprs = list(_queries(docs).values())
    exprs += [r["expr"] for g in by_kind(docs, "PrometheusRule")["ml-canary"]["spec"]["groups"] for r in g["rules"]]
    istio = SOURCES["istio"]
    exprs += [f"{istio.requests}{{revision=\"x\"}}", f"{istio.bucket}{{revision=\"x\"}}", 'up{revision="x"}']  # the judge
    exprs += [f'{name}{{revision="x"}}' for name in (PAIRS_TOTAL, DISAGREEMENTS_TOTAL)]  # its disagreement test
    reads = []
    for expr in exprs:
        blocks = re.findall(r"\{[^}]*\}", expr)  # the label matchers, kept aside with their values
        for i, block in enumerate(blocks):
            expr = expr.replace(block, f" @{i} ", 1)
        expr = re.sub(r'"[^"]*"', '""', expr)  # other strings (label_replace's) are not names
        expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)  # label lists
        for name, at in re.findall(r"\b([a-zA-Z_][a-zA-Z0-9_:]*)\s*(@\d+)?", expr):
            if name not in _PROMQL_WORDS and not re.fullmatch(r"\d+[smh]", name):
                reads.append((name, blocks[int(at[1:])] if at else ""))
    return reads


def _monitors_of(docs, workload: str, port: str, path: str) -> list[dict]:
    labels = by_kind(docs, workload.split()[0])[workload.split()[1]]["spec"]["template"]["metadata"]["labels"]
    return [(pm, ep) for pm in by_kind(docs, "PodMonitor").values() for ep in pm["spec"]["podMetricsEndpoints"]
            if all(labels.get(k) == v for k, v in pm["spec"]["selector"].get("matchLabels", {}).items())
            and ep["port"] == port and ep.get("path", "/metrics") == path]


def wiring(docs) -> list[str]:
    """Every read series whose producer no monitor scrapes, or without a label it is selected on."""
    recorded = {r["record"] for g in by_kind(docs, "PrometheusRule")["ml-canary"]["spec"]["groups"]
                for r in g["rules"] if "record" in r}
    problems, monitors = [], by_kind(docs, "PodMonitor")
    for name, matchers in _reads(docs):
        if name in recorded or ":" in name:
            if name not in recorded:
                problems.append(f"{name}: no recording rule records it")
            continue
        if name in PREREQUISITES:
            if f"`{name}`" not in KUBERNETES_DOC.read_text():
                problems.append(f"{name}: produced outside the project, but docs/kubernetes.md does not say so")
            continue
        if name == "up":
            jobs = re.findall(r'job="([^"]*)"', matchers)
            problems += [f"up: no PodMonitor makes job {j}" for j in jobs if j.split("/")[-1] not in monitors]
            continue
        prefix = next((p for p in PRODUCERS if name.startswith(p)), None)
        workload, port, path = PRODUCERS[prefix] if prefix else ("", "", "")
        scraped = _monitors_of(docs, workload.format(model=model_name(docs)), port, path) if prefix else []
        if not scraped:
            problems.append(f"{name}: no shipped PodMonitor scrapes it")
        elif prefix in OWN_REVISION:
            # Without honorLabels a target label revision (a relabeling like the others') renames the
            # producer's to exported_revision, and the reader's selector finds nothing.
            if "revision" in matchers and not all(ep.get("honorLabels") for _, ep in scraped):
                problems.append(f"{name}: selected by its own revision label, but its PodMonitor does not honor it")
        elif "revision" in matchers and not any(
                r.get("targetLabel") == "revision" for _, ep in scraped for r in ep.get("relabelings", [])):
            problems.append(f"{name}: selected by revision, but its PodMonitor sets no revision label")
    return problems


def test_every_series_read_is_recorded_or_scraped_with_its_labels(docs):
    assert wiring(docs) == []


def _drop(kind, name):
    return lambda docs: docs.remove(by_kind(docs, kind)[name])


def _dishonoured(docs):
    by_kind(docs, "PodMonitor")["ml-canary-judge"]["spec"]["podMetricsEndpoints"][0].pop("honorLabels")


def _no_relabel(docs):
    by_kind(docs, "PodMonitor")["wine-sidecar"]["spec"]["podMetricsEndpoints"][0]["relabelings"] = []


@pytest.mark.parametrize("mutate, message", [
    (_drop("PodMonitor", "wine-sidecar"), "istio_requests_total: no shipped PodMonitor scrapes it"),
    (_drop("PodMonitor", "wine-runtime"), "up: no PodMonitor makes job ml-canary/wine-runtime"),
    (_no_relabel, "istio_requests_total: selected by revision, but its PodMonitor sets no revision label"),
    (_drop("PodMonitor", "ml-canary-judge"), f"{PAIRS_TOTAL}: no shipped PodMonitor scrapes it"),
    (_dishonoured, f"{PAIRS_TOTAL}: selected by its own revision label, but its PodMonitor does not honor it"),
], ids=["no sidecar monitor", "no runtime monitor", "no revision label", "no judge monitor", "judge labels renamed"])
def test_a_broken_wiring_is_caught(docs, mutate, message):
    assert message in problems_after(docs, mutate, wiring)


@pytest.mark.parametrize("overlay", ["overlays/mlserver", "overlays/seldon"])
def test_prometheus_reaches_every_port_a_monitor_scrapes(overlay, tmp_path):
    docs = render(overlay, ("components/loadgen",), tmp_path)
    for pm in by_kind(docs, "PodMonitor").values():
        for name, template in crossref.pods(docs).items():
            labels = template["metadata"]["labels"]
            if pm["spec"].get("namespaceSelector") or any(labels.get(k) != v for k, v in pm["spec"]["selector"]["matchLabels"].items()):
                continue
            peer = _workload(docs, *name.split())
            for ep in pm["spec"]["podMetricsEndpoints"]:
                port = peer.ports[ep["port"]]
                assert reach.verdict(docs, PROMETHEUS, peer, port, "GET", ep.get("path", "/metrics")) == "allow", (pm["metadata"]["name"], name, ep["port"])


def test_the_canary_weight_panel_shows_the_users_share_of_each_version_and_no_mirrored_copy(docs, tmp_path):
    """The gateway sent 9 requests a second to v1 and 1 to v2, the load generator 1 to v2; v2 also answered
    5 mirrored copies a second (destination side only): the panel reads v1 9/11, v2 2/11."""
    groups = by_kind(docs, "PrometheusRule")["ml-canary"]["spec"]["groups"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [g for g in groups if g["name"].endswith("recording")]}))
    query = next(q for k, q in _queries(docs).items() if k.startswith("dashboard/Canary weight"))
    wine = 'destination_service_namespace="ml-canary",destination_service_name="wine"'
    series = [(f'job="ml-canary/istio-ingressgateway",reporter="source",{wine},destination_version="v1"', 9),
              (f'job="ml-canary/istio-ingressgateway",reporter="source",{wine},destination_version="v2"', 1),
              (f'job="ml-canary/loadgen",reporter="source",{wine},destination_version="v2"', 1),
              (f'job="ml-canary/wine-sidecar",reporter="destination",{wine},destination_version="v2"', 6),
              (f'job="kubernetes-pods",reporter="source",{wine},destination_version="v2"', 1)]  # a platform's own scrape
    test = {"rule_files": ["rules.yaml"], "evaluation_interval": "15s", "tests": [{
        "interval": "15s",
        "input_series": [{"series": f"istio_requests_total{{{labels}}}", "values": f"0+{15 * rps}x40"} for labels, rps in series],
        "promql_expr_test": [{"expr": query, "eval_time": "5m", "exp_samples": [
            {"labels": 'mlcanary:served_share:ratio1m{version="v1"}', "value": 9 / 11},
            {"labels": 'mlcanary:served_share:ratio1m{version="v2"}', "value": 2 / 11}]}]}]}
    (tmp_path / "panel.test.yaml").write_text(yaml.safe_dump(test))
    out = promtool("test", "rules", "panel.test.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
