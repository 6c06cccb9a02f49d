"""The success-rate gate's query, as Argo would send it, on Istio series evaluated by promtool:
a canary that stops answering fails the gate instead of leaving it without data, while stable's
callers' failures weigh on it only by its share of the traffic, and counted once."""

import re

import pytest
import yaml

from tests.k8s.support import by_kind
from tests.k8s.test_prometheus import promtool

pytestmark = pytest.mark.tools

WINE = 'destination_service_namespace="ml-canary",destination_service_name="wine",source_workload="istio-ingressgateway",'
DEST = 'istio_requests_total{job="ml-canary/wine-sidecar",reporter="destination",' + WINE
SOURCE = 'istio_requests_total{job="ml-canary/istio-ingressgateway",reporter="source",' + WINE
# The in-mesh load generator's sidecar (make loadgen), the other caller this project scrapes.
LOADGEN = 'istio_requests_total{job="ml-canary/loadgen",reporter="source",' + WINE.replace("istio-ingressgateway", "loadgen")
# A platform that scrapes every proxy itself (Istio's own PodMonitor): the same counters again, without revision.
THEIRS = 'istio_requests_total{job="istio-system/envoy-stats-monitor",reporter="source",' + WINE
PER_S = "0+15x40"  # one a second at a 15 s interval


def _series(*rows: tuple[str, str, str, str]) -> list[dict]:
    return [{"series": f'{side}destination_version="{v}",revision="{r}",response_code="{code}"}}', "values": values}
            for side, v, r, code, values in rows]


# Stable's pods scaled down under load: 0.27 503s a second that no pod answered, while the canary answers
# its 5 a second without an error (the figures). Charged in full, they failed the canary (0.949).
CHURN = _series((DEST, "v1", "aaaa111111", "200", "0+675x40"), (DEST, "v2", "bbbb222222", "200", "0+75x40"),
                (SOURCE, "v1", "", "200", "0+675x40"), (SOURCE, "unknown", "", "503", "0+4.05x40"))


SCENARIOS = {
    # v1 at 9/s; the canary bbbb222222 crashed: it answers nothing, its callers get 1 503 a second.
    "canary down": (_series((DEST, "v1", "aaaa111111", "200", "0+135x40"), (SOURCE, "v1", "", "200", "0+135x40"),
                            (SOURCE, "unknown", "", "503", PER_S)), [0.0]),
    "canary healthy": (_series((DEST, "v1", "aaaa111111", "200", "0+135x40"), (DEST, "v2", "bbbb222222", "200", PER_S),
                               (SOURCE, "v1", "", "200", "0+150x40")), [1.0]),
    "canary answering with 30% errors": (_series((DEST, "v2", "bbbb222222", "200", "0+10.5x40"),
                                                 (DEST, "v2", "bbbb222222", "500", "0+4.5x40"),
                                                 (SOURCE, "v2", "", "500", "0+4.5x40")), [0.7]),
    "no traffic at all": (_series((DEST, "v1", "aaaa111111", "200", "0+0x40")), []),  # Inconclusive, not a pass
    "stable's callers failing during a healthy canary": (CHURN, [1 - 0.027 / 5.027]),
    "canary down under make loadgen": (_series((DEST, "v1", "aaaa111111", "200", "0+135x40"),
                                               (LOADGEN, "v1", "", "200", "0+135x40"),
                                               (LOADGEN, "unknown", "", "503", PER_S)), [0.0]),
    "the same, the gateway scraped twice": (
        CHURN + _series((THEIRS, "v1", "", "200", "0+675x40"), (THEIRS, "unknown", "", "503", "0+4.05x40")),
        [1 - 0.027 / 5.027]),
}


def _gate_query(docs) -> str:
    metric = by_kind(docs, "AnalysisTemplate")["success-rate"]["spec"]["metrics"][0]
    args = {"canary-revision": "bbbb222222", "canary-weight": "10", "min-rps": "0.5"}
    return re.sub(r"\{\{\s*args\.([\w-]+)\s*\}\}", lambda m: args[m.group(1)], metric["provider"]["prometheus"]["query"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_gate_sees_what_the_callers_saw(docs, scenario, tmp_path):
    series, expected = SCENARIOS[scenario]
    groups = by_kind(docs, "PrometheusRule")["ml-canary"]["spec"]["groups"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [g for g in groups if g["name"].endswith("recording")]}))
    test = {"rule_files": ["rules.yaml"], "evaluation_interval": "15s", "tests": [{
        "interval": "15s", "input_series": series,
        "promql_expr_test": [{"expr": _gate_query(docs), "eval_time": "5m",
                              "exp_samples": [{"labels": "{}", "value": v} for v in expected]}]}]}
    (tmp_path / "gate.test.yaml").write_text(yaml.safe_dump(test))
    out = promtool("test", "rules", "gate.test.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
