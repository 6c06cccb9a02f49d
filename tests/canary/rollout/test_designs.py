"""bench.designs' copies of k8s/: a test rig's own p99 SLO, and a shipped template it no longer fits refused."""

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


def test_a_template_without_the_shipped_slo_is_refused_not_run_with_it(tmp_path, monkeypatch):
    from bench import designs

    monkeypatch.setattr(designs, "SHIPPED_SLO_MS", 300)  # as if k8s/ had moved on to another SLO
    with pytest.raises(ValueError, match="expected one each of"):
        variant(tmp_path / "k8s", slo_ms=1000)
