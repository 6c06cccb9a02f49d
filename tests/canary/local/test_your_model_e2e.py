"""docs/your-model.md end to end: a person's own classifier, under its own name, rolled out on the real stack with
traffic replayed from their hold-out file."""

import json
import signal

import pytest

from bench import owndata
from canary.local.client import StackClient
from canary.local.harness import Harness, wait_for
from tests.canary.local.test_rollout_e2e import canary_stopped

pytestmark = [pytest.mark.integration, pytest.mark.rollout]
SCALE = 6  # the shadow phase's minute in 10 s; the Prometheus windows stay real


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """Both versions packaged with the documented command, from the person's skops files and hold-out CSV."""
    folder = tmp_path_factory.mktemp("cancer")
    material = owndata.write(folder)
    owndata.package(material, folder / "artifacts")  # raises with the packager's message
    return material, folder / "artifacts"


@pytest.fixture
def rig(stack_env, packaged, tmp_path):
    """canary up --model cancer (the controller learns the model from it), the controller at time-scale 6, and
    50 rps replayed from the hold-out file.

    The gradient-boosting v2 is slower than the logistic v1 by design, and on a busy machine its tail moves past
    the default 5 ms margin (docs/benchmarks.md, "A canary's first seconds": 15-35% of its copies over 10 ms
    against stable's 5-10%, within twice stable's share over 25 ms): the judge then aborts it as a latency regression, as
    docs/your-model.md says. The person accepts the slower model on purpose, as that document tells them to."""
    material, artifacts = packaged
    harness = Harness(tmp_path / "run", {**stack_env, "JUDGE_LATENCY_MARGIN_MS": "15"}, user="e2e")
    try:
        harness.start("canary up", ["-m", "canary", "up", "--model", owndata.NAME, "--artifacts", str(artifacts)],
                      "stack ready", 180, log_name="up.log")
        replay(harness, material, tmp_path / "lg.json")
        harness.client = harness.start_controller(SCALE)  # while the load generator starts
        harness.stack = StackClient(harness.run_dir)
        harness.wait_traffic()
        yield harness
    finally:
        harness.stop()


def replay(harness, material, out):
    """50 rps replayed from the hold-out file, shuffled, the truth of half the answers sent back as feedback."""
    harness.start_loadgen(50, out, "--duration", "300s", "--model", owndata.NAME, "--data", str(material.holdout),
                          "--label-column", owndata.LABEL, "--order", "shuffle", "--feedback-ratio", "0.5")


def _summary(rig, out) -> dict:
    assert rig.stop_process("loadgen", signal.SIGINT) == 0
    return json.loads(out.read_text())


def test_a_30_percent_wrong_v2_is_aborted_in_the_shadow_phase_then_the_healthy_one_promoted_over_v1(
        rig, packaged, tmp_path):
    """The person's gradient-boosting v2 answering 30% wrong is aborted on copies; then the same v2, healthy,
    is promoted over their logistic v1, every answer one of their class names, scored against their labels."""
    rig.client.post("/rollout", {"version": "v2", "faults": {"wrong_ratio": 0.3}})
    doc = wait_for(rig.client, lambda d: d["phase"] in ("Healthy", "Degraded"), 120)
    assert doc["phase"] == "Degraded", doc["message"]
    assert "analysis disagreement failed" in doc["message"], doc["message"]
    assert all(h["kind"] != "setWeight" for h in doc["history"])  # never a weight: never a user's request
    assert set(_summary(rig, tmp_path / "lg.json")["by_version"]) == {"v1"}
    canary_stopped(rig)
    replay(rig, packaged[0], tmp_path / "healthy.json")
    rig.wait_traffic(rig.served() + 20)
    rig.client.post("/rollout", {"version": "v2"})
    doc = wait_for(rig.client, lambda d: d["phase"] in ("Healthy", "Degraded"), 240)
    assert doc["phase"] == "Healthy" and doc["stable"] == "v2", doc["message"]
    assert doc["name"] == owndata.NAME  # the Rollout the controller runs, and the dashboard heads, is the model's
    summary = _summary(rig, tmp_path / "healthy.json")
    assert summary["status_codes"] == {"200": summary["requests"]}, summary["status_codes"]
    assert summary["by_version"]["v2"]["accuracy"] > 0.9, summary["by_version"]
