"""End to end on the real stack (Prometheus, Envoy, MLServer) with the real controller, time-scaled."""

import json
import os
import re
import signal
import subprocess
import sys

import httpx
import pytest

from bench.designs import variant
from canary.local.client import StackClient
from canary.local.harness import Harness, wait_for
from loadgen import payloads
from tests.canary.conftest import ROOT
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.rollout]
SCALE = 6  # a 3-minute analysis in 30 s; the Prometheus windows stay real
BODY = {"inputs": [{"name": "x", "shape": [1, 13], "datatype": "FP64",
                    "data": [13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]}]}
ENDED = ("Healthy", "Degraded")


def _rig(env: dict, tmp_path, scale: float, rps: int = 100, runtime: str | None = None):
    """Stack + controller + load (100 rps unless told), all real processes, through the harness as make demo runs them."""
    harness = Harness(tmp_path / "run", env, user="e2e")
    protocol = ("--protocol", "seldon") if runtime == "seldon" else ()
    try:
        harness.start_stack(runtime)
        # The load generator starts while the controller does: neither waits on the other.
        harness.start_loadgen(rps, tmp_path / "lg.json", *protocol, "--duration", "300s")
        harness.client = harness.start_controller(scale)
        harness.stack = StackClient(harness.run_dir)
        harness.wait_traffic()
        yield harness
    finally:
        harness.stop()


@pytest.fixture
def rig(stack_env, tmp_path, request):
    """The Rollout's weighted steps alone (no shadow phase): the canary's users meet each fault.

    Time-scaled by SCALE, or by the test's indirect parameter. The fixed p99 SLO is 1 s, not 250 ms: these
    tests are about the judge, the error gate and the controller, and in one make test-core, with three stacks
    on two cores, a healthy canary at 50% of 100 rps plus a 50 rps feedback load queued until its p99 read
    430 ms (docs/testing.md). The promotions at 50 rps keep the shipped 250 ms: as_a_user, shipped_on_seldon
    and test_your_model_e2e."""
    k8s = variant(tmp_path / "k8s", shadow=False, slo_ms=1000)
    yield from _rig({**stack_env, "CANARY_K8S_DIR": str(k8s)}, tmp_path, getattr(request, "param", SCALE))


@pytest.fixture
def shipped(stack_env, tmp_path):
    """The shipped Rollout, shadow phase first."""
    yield from _rig(stack_env, tmp_path, SCALE)


@pytest.fixture
def shipped_on_seldon(stack_env, tmp_path):
    """'canary up --runtime seldon' with its default CANARY_SELDON_BIN, the shipped Rollout, the load in Seldon's
    protocol at the load generator's default 50 rps.

    Each runtime is one sync gunicorn worker, and a freshly started one answers a little slower than one that
    has been serving; at 100 rps, doubled by the shadow phase's copies, 43 of a fresh canary's answers once took
    longer than stable's p99 and the judge aborted a healthy v2."""
    yield from _rig(stack_env, tmp_path, SCALE, rps=50, runtime="seldon")


@pytest.fixture
def as_a_user(stack_env, tmp_path):
    """The shipped Rollout as docs/local.md starts it: canary controller --time-scale 4, load at 50 rps."""
    yield from _rig(stack_env, tmp_path, 4, rps=50)


def versions_answering(rig, n=40, protocol: str = "v2") -> set:
    """Which versions answer ``n`` requests through the gateway, in the runtime's protocol."""
    url = rig.gateway + payloads.path_for(protocol, "wine")
    body = payloads.encode_rows(protocol, [BODY["inputs"][0]["data"]])
    return {httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=10)
            .headers["x-model-version"] for _ in range(n)}


def canary_stopped(rig) -> None:
    """Wait for the aborted canary's runtime to stop, so the next rollout on the rig starts from stable alone."""
    wait_until(lambda: rig.stack.status()["canary"] is None, 30, "the aborted canary's runtime to stop")


def assert_shipped_steps(doc: dict) -> None:
    """The shipped Rollout's steps were taken in order: the shadow phase, then the weights 10, 50, 100."""
    assert [h["kind"] for h in doc["history"]][1:5] == ["setCanaryScale", "setMirrorRoute", "analysis", "setMirrorRoute"]
    assert [h["weight"] for h in doc["history"] if h["kind"] == "setWeight"] == [10, 50, 100]


def judged(doc: dict, metric: str = "judge", count: int = 3) -> bool:
    metrics = {m["name"]: m for m in (doc["analysis"] or {}).get("metrics", [])}
    return metric in metrics and metrics[metric]["count"] >= count


def canary_judge(rig) -> list[str]:
    shown = subprocess.run([sys.executable, "-m", "canary", "judge"], env=rig.env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.splitlines()


def test_healthy_v2_promotes_on_the_seldon_runtime_and_canary_judge_shows_the_tests_on_the_way(shipped_on_seldon):
    """The shipped Rollout on the Seldon runtime as documented; its steps on MLServer: the busy-cores test below."""
    rig = shipped_on_seldon
    rig.client.post("/rollout", {"version": "v2"})
    wait_for(rig.client, lambda d: judged(d, "disagreement", 2), 60)  # the shadow phase: 10 s at SCALE
    rig.client.post("/pause")  # held there while 'canary judge' starts, which on a busy machine takes seconds
    shown = canary_judge(rig)
    assert "in the shadow phase, on copies" in shown[0] and any(r.split()[:1] == ["disagreement"] for r in shown), shown
    rig.client.post("/resume")
    wait_for(rig.client, judged, 90)
    status = rig.stack.status()
    head, _, errors, latency = canary_judge(rig)[:4]
    assert f"canary {status['canary_revision']} against stable {status['stable_revision']} at weight 10" in head
    assert errors.split()[0] == "errors" and latency.split()[0] == "latency"
    doc = wait_for(rig.client, lambda d: d["phase"] in ENDED, 150)
    assert doc["phase"] == "Healthy" and doc["stable"] == "v2", doc["message"]
    assert_shipped_steps(doc)
    assert versions_answering(rig, 20, "seldon") == {"v2"}


def test_healthy_v2_is_promoted_while_both_cores_are_busy(as_a_user):
    """A machine also doing other work: a busy loop on every core for the whole rollout. Stable and the
    canary are slowed alike, so the judge, which compares them, has nothing to fail."""
    hog = "import time\nend = time.monotonic() + 400\nwhile time.monotonic() < end:\n    pass\n"
    hogs = [subprocess.Popen([sys.executable, "-c", hog]) for _ in range(os.cpu_count() or 1)]
    try:
        as_a_user.client.post("/rollout", {"version": "v2"})
        doc = wait_for(as_a_user.client, lambda d: d["phase"] in ENDED, 400)
    finally:
        for p in hogs:
            p.kill()
            p.wait()  # reaped here: their CPU is this test's in a tests.cputime report
    assert doc["phase"] == "Healthy" and doc["stable"] == "v2", doc["message"]
    assert_shipped_steps(doc)
    assert versions_answering(as_a_user) == {"v2"}


def test_v2_with_errors_or_wrong_answers_is_aborted_in_the_shadow_phase_and_no_user_saw_it(shipped, tmp_path):
    """A build failing 30% of its requests, one failing all, then one silently wrong on 30% of its answers: each
    aborted on copies, by the shadow's error test or the judge's disagreement test, before any weight."""
    errors = "RolloutAborted: analysis shadow failed: 'fail': errors fail"
    for faults, reason in (({"error_ratio": 0.3}, errors), ({"error_ratio": 1.0}, errors),
                           ({"wrong_ratio": 0.3}, "RolloutAborted: analysis disagreement failed: 'fail': disagreement fail")):
        shipped.client.post("/rollout", {"version": "v2", "faults": faults})
        doc = wait_for(shipped.client, lambda d: d["phase"] in ENDED, 120)
        assert doc["phase"] == "Degraded" and reason in doc["message"], (faults, doc["message"])
        assert [h["kind"] for h in doc["history"]][:3] == ["start", "setCanaryScale", "setMirrorRoute"]
        assert all(h["kind"] != "setWeight" for h in doc["history"]) and doc["mirror_routes"] == []
        canary_stopped(shipped)
    assert shipped.stop_process("loadgen", signal.SIGINT) == 0
    by_version = json.loads((tmp_path / "lg.json").read_text())["by_version"]
    assert set(by_version) == {"v1"}, by_version  # every user request answered by v1, none failed or wrong by v2


def feedback_load(rig, tmp_path, seed: str):
    """A second load generator beside the rig's, sending the truth of every answer."""
    return rig.start_loadgen(50, tmp_path / "feedback.json", "--duration", "300s", "--feedback-ratio", "1",
                             "--seed", seed)


def test_v2_with_30_percent_errors_aborts_then_a_good_build_survives_a_sigkilled_controller_and_the_quality_guard(
        rig, tmp_path):
    """Three rollouts' worth on one rig: a 30%-errors v2 is aborted and traffic returns to v1; a good build right
    after (another revision, so the faulty one's 5xx, still inside the gate's 1-minute window, are not its own)
    has its controller SIGKILLed mid-analysis, resumes at the same step and, judged on the feedback a second
    load generator sends for every answer it gets, passes the quality guard and promotes."""
    feedback_load(rig, tmp_path, "3")
    rig.client.post("/rollout", {"version": "v2", "faults": {"error_ratio": 0.3}})
    doc = wait_for(rig.client, lambda d: d["phase"] in ENDED, 150)
    # Time-scaled, the gate measures 5 s into the analysis and fails at its second ratio, 10 s in, while the judge
    # waits on real scrapes: on a crowded machine either may be first (unscaled, the judge is: the tests below).
    assert doc["phase"] == "Degraded" and re.search(r"RolloutAborted: analysis (judge|success-rate) failed",
                                                    doc["message"]), doc["message"]
    assert doc["weight"] == 0 and doc["header_routes"] == []
    assert versions_answering(rig) == {"v1"}
    assert any("aborting, canary weight 0" in e["line"] for e in doc["events"])
    wait_for(rig.client, lambda d: any("canary v2 scaled down" in e["line"] for e in d["events"]), 30)
    canary_stopped(rig)
    rig.client.post("/rollout", {"version": "v2"})
    controller_sigkilled_mid_analysis_resumes_at_the_same_step(rig)
    doc = wait_for(rig.client, lambda d: d["phase"] in ENDED, 150)
    assert doc["phase"] == "Healthy" and doc["stable"] == "v2", doc["message"]


def controller_sigkilled_mid_analysis_resumes_at_the_same_step(rig) -> None:
    """SIGKILL the controller once the first analysis has measured; a new one resumes at that step."""
    before = wait_for(rig.client, lambda d: d["analysis"] and d["analysis"]["metrics"][0]["count"] >= 1, 60)
    rig.stop_process("canary controller", signal.SIGKILL)
    assert rig.stack.status()["canary_weight"] == 10  # the stack keeps routing meanwhile
    rig.client = rig.start_controller(SCALE, fresh=False)
    after = rig.client.get(events=50)
    assert (after["step"], after["weight"]) == (before["step"], before["weight"]) == (2, 10)
    assert any("controller restarted: resuming" in e["line"] for e in after["events"])


@pytest.mark.parametrize("rig", [1], indirect=True, ids=["time-scale 1"])
def test_v2_with_3_percent_errors_passes_the_95_percent_gate_but_the_judge_aborts_it(rig):
    """Over 95% success: only the comparison with stable can catch it.

    Unscaled: the gate's first ratio, 30 s in, is over some 300 canary requests, as on a
    cluster. Scaled, it would measure 5 s in, over a few dozen, and fail 3% by chance."""
    rig.client.post("/rollout", {"version": "v2", "faults": {"error_ratio": 0.03}})
    doc = wait_for(rig.client, lambda d: d["phase"] in ENDED, 150)
    assert doc["phase"] == "Degraded" and "RolloutAborted: analysis judge failed: 'fail': errors fail" in doc["message"], \
        doc["message"]
    assert versions_answering(rig) == {"v1"}


@pytest.mark.parametrize("rig", [1], indirect=True, ids=["time-scale 1"])
def test_v2_with_10_percent_errors_is_aborted_by_the_judge_before_the_gate(rig):
    """Unscaled, as on a cluster: the gate measures 30 s into the analysis, then every 30 s."""
    rig.client.post("/rollout", {"version": "v2", "faults": {"error_ratio": 0.1}})
    doc = wait_for(rig.client, lambda d: d["phase"] in ENDED, 150)
    assert doc["phase"] == "Degraded" and "RolloutAborted: analysis judge failed: 'fail': errors fail" in doc["message"], \
        doc["message"]  # the gate would fail it too, at its second measurement, 60 s in


def stall(rig, version: str, waiting: int) -> None:
    """Stop a runtime's process until ``waiting`` requests wait on it at the gateway, then let it go on."""
    pid = next(p["pid"] for p in rig.stack.status()["processes"] if p["version"] == version)
    active = rf"^cluster\.wine-{version}\.upstream_rq_active$"
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_until(lambda: rig.envoy_stat(active) >= waiting, 10, f"{waiting} requests waiting on {version}")
    finally:
        os.kill(pid, signal.SIGCONT)


def test_v2_25_ms_slower_is_aborted_after_a_stall_of_stable_and_with_prometheus_stopped_none_promotes(rig):
    """Stable is stalled as the analysis starts, as a busy node or a CPU throttle does: 40 of the
    1000 or so answers its p99 rests on wait up to half a second, lifting the p99 far above the
    canary's answers (stable's median is under 2 ms, the canary's over 25: past four times stable's median
    bucket plus JUDGE_LATENCY_MARGIN_MS, with room for a median a bucket higher on a busy machine). The judge
    aborts the 25 ms slower v2, though it is under the SLO. Then a healthy v2 on the same rig, Prometheus
    killed once its analysis runs: it never promotes."""
    rig.client.post("/rollout", {"version": "v2", "faults": {"latency_ms": 25}})
    wait_for(rig.client, lambda d: d["analysis"] is not None, 60)
    stall(rig, "v1", 40)
    doc = wait_for(rig.client, lambda d: d["phase"] in ENDED, 150)
    assert doc["phase"] == "Degraded" and "analysis judge failed" in doc["message"], doc["message"]
    bound_ms = float(re.search(r"latency fail \(.*?\): canary \d+/\d+ (?:slow \()?over ([\d.]+) ms", doc["message"]).group(1))
    assert bound_ms < 250  # slow against stable, not against the judge's JUDGE_LATENCY_SLO_MS (250 ms)
    canary_stopped(rig)
    rig.client.post("/rollout", {"version": "v2"})
    wait_for(rig.client, lambda d: d["analysis"] is not None, 60)
    prometheus = next(p for p in rig.stack.status()["processes"] if p["name"] == "prometheus")
    os.kill(prometheus["pid"], signal.SIGKILL)
    doc = wait_for(rig.client, lambda d: d["phase"] in ENDED, 150)
    assert doc["phase"] == "Degraded" and "consecutiveErrors (5) > consecutiveErrorLimit (4)" in doc["message"]
    assert doc["stable"] == "v1"


def test_manual_pause_resume_promote_abort_retry_then_a_fault_flips_the_runtime_without_a_restart(rig):
    c = rig.client
    refused = httpx.post(f"{c.state['api']}/rollout", json={"version": "v2"})  # the real controller, no token
    assert refused.status_code == 401 and rig.stack.status()["canary"] is None and c.audit() == []
    c.post("/rollout", {"version": "v2"})
    wait_for(c, lambda d: d["weight"] == 10, 60)
    c.post("/pause")
    paused = wait_for(c, lambda d: d["phase"] == "Paused", 5)
    assert any(e["line"] == "paused by request" for e in paused["events"])
    assert rig.stack.status()["canary_weight"] == 10
    rig.stack.set_routing(0)  # by hand, behind the controller's back: read back and set again
    wait_until(lambda: (rig.stack.status()["gateway_routes"] or {"weights": {}})["weights"].get("v2") == 10, 20,
               "the controller to give the canary its 10% again")
    assert any(e["line"].startswith("drift: the gateway splits v1 100%") for e in c.get(events=50)["events"])
    board = json.loads((ROOT / "k8s/base/grafana/ml-canary-dashboard.json").read_text())  # its Argo panel, here
    phase = next(t["expr"] for p in board["panels"] for t in p.get("targets", []) if "rollout_info" in t["expr"])
    wait_until(lambda: [r["metric"]["phase"] for r in rig.query(phase)] == ["Paused"], 20,
               "the controller's rollout_info, scraped by the local Prometheus, on the Grafana board's panel")
    c.post("/resume")
    c.post("/promote")  # skip the first analysis
    wait_for(c, lambda d: d["weight"] == 50, 30)
    c.post("/abort")
    assert c.get()["phase"] == "Degraded" and rig.stack.status()["canary_weight"] == 0
    c.post("/retry")
    wait_for(c, lambda d: d["weight"] == 10, 30)
    c.post("/promote", {"full": True})
    assert wait_for(c, lambda d: d["phase"] == "Healthy", 30)["stable"] == "v2"
    audit = c.audit()
    assert [a["action"] for a in audit] == ["rollout", "pause", "resume", "promote", "abort", "retry", "promote"]
    assert {a["who"] for a in audit} == {"e2e"}
    abort = audit[4]
    assert (abort["before"]["weight"], abort["after"]["weight"], abort["after"]["phase"]) == (50, 0, "Degraded")
    fault_flips_the_running_runtime_without_a_restart(rig, "v2")


def fault_flips_the_running_runtime_without_a_restart(rig, version: str) -> None:
    """Through the controller's /fault, on to the stack and the runtime behind the gateway: the same process."""
    def pid():
        return next(p["pid"] for p in rig.stack.status()["processes"] if p["version"] == version)

    before = pid()
    rig.client.post("/fault", {"version": version, "error_ratio": 1.0})
    assert httpx.post(f"{rig.gateway}/v2/models/wine/infer", json=BODY).status_code == 500
    rig.client.post("/fault", {"version": version, "clear": True})
    assert httpx.post(f"{rig.gateway}/v2/models/wine/infer", json=BODY).status_code == 200
    assert pid() == before
