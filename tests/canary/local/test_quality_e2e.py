"""A v2 that answers HTTP 200 but wrongly, on the real stack with the real controller: the quality guard aborts it."""

import pytest

from canary.local.harness import wait_for
from tests.canary.local.test_rollout_e2e import (  # noqa: F401 - rig is a fixture
    ENDED,
    feedback_load,
    rig,
    versions_answering,
)

pytestmark = [pytest.mark.integration, pytest.mark.rollout]


def test_a_silently_wrong_v2_is_aborted_by_the_accuracy_test_with_feedback(rig, tmp_path):  # noqa: F811
    feedback_load(rig, tmp_path, "2")
    rig.client.post("/rollout", {"version": "v2", "faults": {"wrong_ratio": 0.3}})
    doc = wait_for(rig.client, lambda d: d["phase"] in ENDED, 150)
    assert doc["phase"] == "Degraded", doc["message"]
    assert "RolloutAborted: analysis quality failed: 'fail': accuracy fail" in doc["message"], doc["message"]
    assert versions_answering(rig) == {"v1"}
