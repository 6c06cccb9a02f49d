"""The success-rate gate's query, as Argo would send it, on Istio series evaluated by promtool:
a canary that stops answering fails the gate instead of leaving it without data."""

import re

import pytest
import yaml

from tests.k8s.support import by_kind
from tests.k8s.test_prometheus import promtool

DEST = 'istio_requests_total{reporter="destination",destination_service_namespace="ml-canary",destination_service_name="wine",'
SOURCE = 'istio_requests_total{reporter="source",destination_service_namespace="ml-canary",destination_service_name="wine",'
PER_S = "0+15x40"  # one a second at a 15 s interval


def _series(*rows: tuple[str, str, str, str]) -> list[dict]:
    return [{"series": f'{side}destination_version="{v}",revision="{r}",response_code="{code}"}}', "values": values}
            for side, v, r, code, values in rows]


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
}


def _gate_query(docs) -> str:
    metric = by_kind(docs, "AnalysisTemplate")["success-rate"]["spec"]["metrics"][0]
    args = {"canary-revision": "bbbb222222", "min-rps": "0.5"}
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
