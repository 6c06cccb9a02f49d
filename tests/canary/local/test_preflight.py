"""What 'canary up' refuses before it starts anything: ports two settings claim."""

from canary.local.preflight import preflight
from canary.local.settings import StackSettings


def test_a_runtime_slot_overlapping_another_setting_is_refused_naming_both():
    found = preflight(StackSettings(stable_port=28100, canary_port=28103, judge_port=28108))
    shared = [p for p in found if "is claimed by" in p]
    assert shared[0].startswith("port 28103 is claimed by CANARY_CANARY_PORT and CANARY_STABLE_PORT")
    assert "port 28108 is claimed by CANARY_CANARY_PORT and CANARY_JUDGE_PORT: each runtime takes 6 ports" in shared[-1]
    assert len(shared) == 4  # 28103..28105 (both slots) and 28108 (the canary's sidecar admin, the judge)


def test_the_default_ports_claim_none_twice():
    assert not [p for p in preflight(StackSettings()) if "is claimed by" in p]
