"""The project's own rules for its Rollout, beyond what Argo validates (Argo's validation itself runs for
real in tests/cluster/test_argo_validation.py)."""

import pytest

from tests.k8s.support import by_kind

pytestmark = pytest.mark.tools


def test_a_stuck_rollout_aborts_and_a_recent_revision_rolls_back_without_steps(mlserver):
    spec = by_kind(mlserver, "Rollout")["wine"]["spec"]
    assert spec.get("progressDeadlineAbort") is True  # else a never-ready canary holds its weight forever
    assert 1 <= spec.get("rollbackWindow", {}).get("revisions", 0) <= spec["revisionHistoryLimit"]


def test_the_header_route_leads_to_a_canary_that_has_pods(mlserver):
    """A setHeaderRoute before any setWeight (or setCanaryScale) routes testers to a canary with no pod."""
    steps = by_kind(mlserver, "Rollout")["wine"]["spec"]["strategy"]["canary"]["steps"]
    for i, step in enumerate(steps):
        if "setHeaderRoute" in step:
            before = steps[:i]
            assert any(s.get("setWeight", 0) > 0 or "setCanaryScale" in s for s in before), f"step {i + 1}"
