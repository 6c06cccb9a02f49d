"""All PromQL parses; the cluster's rules pass promtool's unit tests."""

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.k8s.support import ROOT, by_kind, require_binary

pytestmark = pytest.mark.tools

HERE = Path(__file__).parent
RECORDED = re.compile(r"\bmlcanary:[a-z0-9_]+:[a-z0-9_]+\b")


@pytest.fixture(scope="module")
def rule_groups(docs):
    return by_kind(docs, "PrometheusRule")["ml-canary"]["spec"]["groups"]


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([require_binary("promtool", "Debian package prometheus"), *args],
                          capture_output=True, text=True, cwd=cwd)


def recorded_names(groups) -> set[str]:
    return {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}


def test_cluster_rules_pass_promtool_check_and_unit_tests(rule_groups, tmp_path):
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule_groups}))
    (tmp_path / "rules.test.yaml").write_text((HERE / "promtool" / "cluster-rules.test.yaml").read_text())
    check = promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    test = promtool("test", "rules", "rules.test.yaml", cwd=tmp_path)
    assert test.returncode == 0, test.stdout + test.stderr


def _queries(docs) -> dict[str, str]:
    """Every PromQL string outside the rules: analysis metrics and dashboard panels."""
    queries = {}
    for name, template in by_kind(docs, "AnalysisTemplate").items():
        # What the Rollout passes: a revision, or a weight where the arg is one.
        args = {a["name"]: a.get("value", "10" if a["name"].endswith("weight") else "v2")
                for a in template["spec"].get("args", [])}
        for metric in (m for m in template["spec"]["metrics"] if "prometheus" in m["provider"]):
            query = metric["provider"]["prometheus"]["query"]
            queries[f"{name}/{metric['name']}"] = re.sub(r"\{\{\s*args\.([\w-]+)\s*\}\}", lambda m: args[m.group(1)], query)
    dashboard = json.loads(by_kind(docs, "ConfigMap")["ml-canary-dashboard"]["data"]["ml-canary-dashboard.json"])
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            queries[f"dashboard/{panel['title']}/{target['refId']}"] = target["expr"]
    return queries


def test_analysis_and_dashboard_promql_parses(docs, tmp_path):
    queries = _queries(docs)
    rules = [{"record": f"check:q{i}", "expr": q} for i, q in enumerate(queries.values())]
    (tmp_path / "queries.yaml").write_text(yaml.safe_dump({"groups": [{"name": "queries", "rules": rules}]}))
    out = promtool("check", "rules", "queries.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(queries) >= 9


def test_queries_use_only_recorded_series(docs, rule_groups):
    recorded = recorded_names(rule_groups)
    for name, query in _queries(docs).items():
        unknown = set(RECORDED.findall(query)) - recorded
        assert not unknown, f"{name} queries {unknown}, which no recording rule produces"


def test_every_recorded_series_is_in_the_metric_contract(rule_groups):
    contract = (ROOT / "docs" / "metrics.md").read_text()
    missing = {name for name in recorded_names(rule_groups) if f"`{name}`" not in contract}
    assert not missing, f"docs/metrics.md does not list {missing}"


# Argo Rollouts' controller metrics as Prometheus keeps them: scraped by the argo-rollouts chart's
# ServiceMonitor (no honorLabels: the metric's namespace becomes exported_namespace, the target's is
# argo-rollouts), or by a scrape that honours the metric's labels.
ARGO_SCRAPES = {
    "chart's ServiceMonitor": 'namespace="argo-rollouts",exported_namespace="ml-canary"',
    "honorLabels": 'namespace="ml-canary"',
}


@pytest.mark.parametrize("scrape", ARGO_SCRAPES)
def test_the_argo_panels_show_the_rollout_however_its_controller_is_scraped(docs, scrape, tmp_path):
    where = ARGO_SCRAPES[scrape]
    series = [{"series": f'rollout_info{{{where},name="wine",phase="Progressing"}}', "values": "1x10"},
              {"series": f'analysis_run_metric_phase{{{where},name="wine-abc-7",metric="judge",phase="Running"}}',
               "values": "1x10"},
              {"series": 'rollout_info{namespace="argo-rollouts",exported_namespace="other",name="wine",phase="Healthy"}',
               "values": "1x10"}]  # another namespace's Rollout of the same name
    panels = {k: q for k, q in _queries(docs).items() if "rollout_info" in q or "analysis_run_metric_phase" in q}
    tests = [{"expr": q, "eval_time": "1m", "exp_samples": [{"labels": _labels(q, where), "value": 1}]}
             for q in panels.values()]
    (tmp_path / "argo.test.yaml").write_text(yaml.safe_dump({"tests": [
        {"interval": "15s", "input_series": series, "promql_expr_test": tests}]}))
    out = promtool("test", "rules", "argo.test.yaml", cwd=tmp_path)
    assert len(panels) == 2 and out.returncode == 0, out.stdout + out.stderr


def _labels(query: str, where: str) -> str:
    """The one series a panel's query must return: the ml-canary Rollout's, as scraped."""
    if "rollout_info" in query:
        return f'rollout_info{{{where},name="wine",phase="Progressing"}}'
    return f'analysis_run_metric_phase{{{where},name="wine-abc-7",metric="judge",phase="Running"}}'

