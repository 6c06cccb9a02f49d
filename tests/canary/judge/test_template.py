"""The judge AnalysisTemplate in k8s/base fits the judge's API: its URL, JSONPath and condition, end to end."""

from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from canary.rollout import analysis, args, spec
from canary.rollout.providers import WebSource
from canary.rollout.web import compile_path
from tests.canary.conftest import ROOT

TEMPLATE = ROOT / "k8s" / "base" / "analysistemplate-judge.yaml"


def rendered(canary: str, stable: str, weight: str) -> tuple[spec.Metric, str]:
    template = spec.parse_template(yaml.safe_load(TEMPLATE.read_text()))
    metric = template.metrics[0]
    values = {"canary-revision": canary, "stable-revision": stable, "canary-weight": weight,
              "judge-address": "http://judge"}
    return metric, args.substitute(metric.source.call.url, values)


@pytest.mark.integration
def test_the_templates_url_jsonpath_and_condition_work_against_the_judge(prometheus, judge):
    canary, stable = prometheus.fresh()
    prometheus.serve(canary, 10)
    prometheus.serve(stable, 90)
    metric, url = rendered(canary, stable, "10")
    parts = urlsplit(url)
    answer = judge.get(parts.path, params=dict(parse_qsl(parts.query)))
    assert answer.status_code == 200, answer.text
    value = compile_path(metric.source.call.json_path).find(answer.json())[0].value
    assert value == "continue"
    assert analysis.judge(metric, value)[0] == analysis.SUCCESSFUL  # not enough evidence never pauses
    assert analysis.judge(metric, "fail")[0] == analysis.FAILED
    assert analysis.judge(metric, "pass")[0] == analysis.SUCCESSFUL


def test_the_rollouts_args_fill_every_placeholder_of_the_url():
    rollout = spec.load(ROOT / "k8s")
    shadow, first = [s for s in rollout.steps if isinstance(s, spec.Analysis)][:2]
    urls = [[m.source.call.url for m in args.metrics_for(rollout, step, "v2", {"judge-address": "http://judge"},
                                                         {"Stable": "aaaa000000", "Latest": "bbbb111111"})
             if isinstance(m.source, WebSource)]
            for step in (shadow, first)]
    question = "http://judge/v1/judge?canary=bbbb111111&stable=aaaa000000"
    assert urls[0] == [f"{question}&weight=33&tests=errors,latency&grace_s=30", f"{question}&weight=0&tests=disagreement&grace_s=45"]
    assert urls[1][0] == f"{question}&weight=10"
