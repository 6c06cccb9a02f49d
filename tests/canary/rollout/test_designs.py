"""bench.designs' copies of k8s/: a test rig's own p99 SLO, and a shipped template it no longer fits refused."""

import shutil

import pytest

from bench.designs import variant
from canary.rollout import spec
from canary.rollout.expr import evaluate


def _latency(k8s):
    template = spec.load(k8s).templates["latency"]
    return next(m for m in template.metrics if m.name == "latency-p99")


@pytest.mark.parametrize(("slo_ms", "p99", "passes"), [(250, 400.0, False), (1000, 400.0, True), (1000, 1001.0, False)])
def test_a_rigs_slo_is_the_one_its_latency_template_judges_by(tmp_path, slo_ms, p99, passes):
    metric = _latency(variant(tmp_path / "k8s", shadow=False, slo_ms=slo_ms))
    assert evaluate(metric.success_condition, [p99]) is passes
    assert evaluate(metric.failure_condition, [p99]) is not passes


@pytest.mark.parametrize("slo", ["300", "2500", "250.5"])
def test_a_template_whose_slo_moved_on_is_refused_not_run_with_the_rigs(tmp_path, monkeypatch, slo):
    from bench import designs

    shipped = tmp_path / "shipped"
    shutil.copytree(designs.ROOT / "k8s", shipped / "k8s")
    template = shipped / "k8s" / "base" / "analysistemplate-latency.yaml"
    template.write_text(template.read_text().replace("result[0] <= 250", f"result[0] <= {slo}"))
    monkeypatch.setattr(designs, "ROOT", shipped)  # as if k8s/ had moved on to another SLO
    with pytest.raises(ValueError, match="expected one 'result\\[0\\] <= 250', found 0"):
        variant(tmp_path / "k8s", slo_ms=1000)
