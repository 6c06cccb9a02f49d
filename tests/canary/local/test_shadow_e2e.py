"""The shipped Rollout's mirror phase, on the real stack: a silently wrong v2 is aborted by the judge's
disagreement test before any user request reaches it."""

import json
import signal

import pytest

from canary.local.harness import Harness, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def shadow_rig(stack_env, tmp_path):
    """The shipped Rollout (its shadow phase before the 10% step); stack, controller (time-scale 6), 50 rps of load."""
    harness = Harness(tmp_path / "run", stack_env, user="e2e")
    try:
        harness.start_stack()
        harness.client = harness.start_controller(6)
        harness.start_loadgen(50, tmp_path / "lg.json", "--duration", "300s")
        harness.wait_traffic()
        yield harness
    finally:
        harness.stop()


def test_a_silently_wrong_v2_is_aborted_in_the_mirror_phase_and_no_user_saw_it(shadow_rig, tmp_path):
    shadow_rig.client.post("/rollout", {"version": "v2", "faults": {"wrong_ratio": 0.3}})
    doc = wait_for(shadow_rig.client, lambda d: d["phase"] in ("Healthy", "Degraded"), 120)
    assert doc["phase"] == "Degraded", doc["message"]
    assert "RolloutAborted: analysis disagreement failed: 'fail': disagreement fail" in doc["message"], doc["message"]
    assert [h["kind"] for h in doc["history"]][:3] == ["start", "setCanaryScale", "setMirrorRoute"]
    assert all(h["kind"] != "setWeight" for h in doc["history"])  # never a weight: never a user's request
    assert shadow_rig.stop_process("loadgen", signal.SIGINT) == 0
    assert set(json.loads((tmp_path / "lg.json").read_text())["by_version"]) == {"v1"}
