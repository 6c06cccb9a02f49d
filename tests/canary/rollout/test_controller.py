"""The controller's step machine, with a fake clock, router and provider (the edges) and a real store."""

import itertools

import pytest

from canary.cli.render import render
from canary.rollout import analysis, spec
from canary.rollout.controller import DEGRADED, HEALTHY, PAUSED, PROGRESSING, ControlError, Controller, Platform
from canary.rollout.state import Store
from canary.rollout.view import view
from tests.canary.conftest import ROOT, weighted_steps


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Router:
    """A TrafficRouter and Deployer in memory: records what the controller asked of the platform."""

    def __init__(self):
        self.stable, self.canary, self.weight, self.routes, self.calls = "v1", None, 0, [], []
        self.ready = True  # the canary, when one runs, answers its readiness probe

    def stable_revision(self):
        return self.stable

    def revisions(self):
        return {"stable": f"{self.stable}-rev", "canary": self.canary and f"{self.canary}-rev"}

    def add_canary(self, version, faults):
        self.calls.append(("add", version))
        self.canary = version

    def canary_ready(self):
        return self.canary is not None and self.ready

    def remove_canary(self):
        self.calls.append(("remove", self.canary))
        self.canary, self.weight, self.routes, self.mirrors = None, 0, [], []

    def promote_canary(self):  # the platform's promotion routes everything to the new stable
        self.calls.append(("promote", self.canary))
        self.stable, self.canary, self.weight, self.routes, self.mirrors = self.canary, None, 0, [], []

    def retire(self, version):
        self.calls.append(("retire", version))

    def set_routing(self, weight, routes, mirrors=()):
        self.weight, self.routes, self.mirrors = weight, routes, list(mirrors)


class Provider:
    """Answers by metric: success ratio, latency; raise to play Prometheus being down."""

    def __init__(self, ratio=1.0, latency=20.0):
        self.ratio, self.latency, self.down = ratio, latency, False

    def query(self, address, query):
        if self.down:
            raise analysis.ProviderError(f"Prometheus at {address} did not answer: ConnectError")
        assert 'revision="v2-rev"' in query and address == "http://prom"
        return [self.latency] if "latency" in query else [self.ratio]


class Judge:
    """Argo's web provider at the judge's edge: answers a decision, records the URLs it was asked."""

    def __init__(self, decision="continue"):
        self.decision, self.urls, self.down = decision, [], False

    def call(self, web):
        self.urls.append(web.url)
        if self.down:
            raise analysis.ProviderError("received non 2xx response code: 502")
        return self.decision, {"decision": self.decision, "summary": f"errors {self.decision} (e-value 512 vs 200)"}


@pytest.fixture
def rig(tmp_path):
    clock, router, provider, judge = Clock(), Router(), Provider(), Judge()
    copies = itertools.count()  # a test may make several controllers
    lines, alerts = [], []

    def make(time_scale=1.0, shadow=False):
        rollout = spec.load(ROOT / "k8s") if shadow else weighted_steps(tmp_path / f"k8s-{next(copies)}")
        return Controller(rollout, Store(tmp_path / "c.db", clock),
                          Platform(router, router, provider, judge), prometheus_address="http://prom",
                          judge_address="http://judge", time_scale=time_scale, clock=clock,
                          notify=alerts.append, emit=lines.append)

    make.judge = judge
    return make, clock, router, provider, lines, alerts


def run_until(ctrl, clock, done, limit_s=2000, step_s=1.0):
    for _ in range(int(limit_s / step_s)):
        ctrl.reconcile()
        if done():
            return
        clock.now += step_s
    raise AssertionError(f"not done after {limit_s}s: {ctrl.state.summary()}")


def test_healthy_rollout_walks_every_step_and_promotes(rig):
    make, clock, router, provider, lines, _ = rig
    ctrl = make()
    ctrl.start("v2")
    weights = []
    for _ in range(4000):
        ctrl.reconcile()
        weights.append(router.weight)
        if ctrl.state.phase == HEALTHY:
            break
        clock.now += 0.25  # four reconciles to each of the judge's measurements
    assert ctrl.state.phase == HEALTHY and ctrl.state.stable == "v2" and router.stable == "v2"
    assert [w for i, w in enumerate(weights) if i == 0 or w != weights[i - 1]] == [10, 50, 0]
    assert any(line.startswith("step 1/6: set weight 10 (v1 90%, v2 10%)") for line in lines)
    assert any(line.startswith("analysis success-rate: 1.000 >= 0.95 (1/6") for line in lines)
    assert any("header route canary-header: x-canary exact always -> v2" in line for line in lines)
    clock.now += 600
    ctrl.reconcile()
    assert ("retire", "v1") in router.calls


def test_a_judge_fail_aborts_at_once_with_weight_0_and_scales_down_after_the_delay(rig):
    make, clock, router, provider, lines, alerts = rig
    ctrl = make()
    make.judge.decision = "fail"
    ctrl.start("v2")
    t0 = clock.now
    run_until(ctrl, clock, lambda: ctrl.state.aborted)
    assert clock.now - t0 <= 1  # the judge is asked at once
    assert ctrl.state.phase == DEGRADED and router.weight == 0 and router.routes == []
    assert ctrl.state.message.startswith("RolloutAborted: analysis judge failed: 'fail': errors fail (e-value 512 vs 200)")
    assert make.judge.urls[0] == "http://judge/v1/judge?canary=v2-rev&stable=v1-rev&weight=10"
    assert any("aborting, canary weight 0" in line for line in lines)
    assert alerts and alerts[0]["event"] == "rollout-aborted"
    assert router.canary == "v2"
    clock.now += 29
    ctrl.reconcile()
    assert router.canary == "v2"
    clock.now += 2
    ctrl.reconcile()
    assert router.canary is None


def test_a_low_success_ratio_fails_the_gate_at_its_second_measurement(rig):
    make, clock, router, provider, lines, _ = rig
    ctrl = make()
    provider.ratio = 0.7
    ctrl.start("v2")
    t0 = clock.now
    run_until(ctrl, clock, lambda: ctrl.state.aborted)
    assert 60 <= clock.now - t0 <= 61  # initialDelay 30 s, interval 30 s, failureLimit 1
    assert ctrl.state.message.startswith("RolloutAborted: analysis success-rate failed: 0.700 < 0.95")


def test_the_judge_is_asked_at_the_weight_in_force(rig):
    make, clock, router, provider, lines, _ = rig
    ctrl = make()
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.state.phase == HEALTHY)
    from urllib.parse import parse_qs, urlsplit

    asked = [parse_qs(urlsplit(url).query) for url in make.judge.urls]
    assert {q["weight"][0] for q in asked} == {"10", "50"}
    http = [q for q in asked if "tests" not in q]  # the judge metric; the quality metric names its tests
    assert len(http) >= 2 * 175 and {q["tests"][0] for q in asked if "tests" in q} == {"accuracy,class_mix"}


def test_a_judge_that_cannot_answer_aborts_after_five_errors(rig):
    make, clock, router, provider, lines, _ = rig
    ctrl = make()
    make.judge.down = True
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.state.aborted)
    assert "analysis judge error" in ctrl.state.message and "consecutiveErrors (5) > consecutiveErrorLimit (4)" in ctrl.state.message


def test_latency_alone_fails_the_latency_gate(rig):
    make, clock, router, provider, lines, _ = rig
    ctrl = make()
    provider.latency = 400.0
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.state.aborted)
    assert "analysis latency-p99 failed: 400.000 > 250 (failed (2) > failureLimit (1))" in ctrl.state.message


def test_prometheus_down_never_promotes(rig):
    make, clock, router, provider, lines, _ = rig
    ctrl = make()
    provider.down = True
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.state.aborted)
    assert "consecutiveErrors (5) > consecutiveErrorLimit (4)" in ctrl.state.message
    assert router.stable == "v1"


def test_low_traffic_is_inconclusive_and_pauses(rig):
    make, clock, router, provider, lines, _ = rig
    ctrl = make()
    provider.query = lambda address, query: []  # too few requests: the guarded query returns nothing
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.state.phase == PAUSED)
    assert ctrl.state.pause_reason == "InconclusiveAnalysisRun" and router.weight == 10
    ctrl.promote()
    assert ctrl.state.phase == PROGRESSING and ctrl.state.step == 3


def test_time_scale_shortens_every_duration(rig):
    make, clock, router, provider, lines, _ = rig
    ctrl = make(time_scale=10)
    ctrl.start("v2")
    t0 = clock.now
    run_until(ctrl, clock, lambda: ctrl.state.phase == HEALTHY, step_s=0.1)
    assert clock.now - t0 < 40  # two 3-minute analyses at time-scale 10
    assert any("over 3m (18s at time-scale 10)" in line for line in lines)


def test_a_restarted_controller_resumes_at_the_same_step_and_weight(rig):
    make, clock, router, provider, lines, _ = rig
    ctrl = make()
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.state.step == 2 and ctrl.run and ctrl.run.states["success-rate"].count >= 2)
    step, weight, count = ctrl.state.step, router.weight, ctrl.run.states["success-rate"].count
    router.weight = -1  # what the restarted controller applies must be the saved weight
    again = make()
    assert again.state.step == step and router.weight == weight == 10
    assert again.run.states["success-rate"].count == count
    run_until(again, clock, lambda: again.state.phase == HEALTHY)


def test_manual_controls(rig):
    make, clock, router, provider, lines, _ = rig
    ctrl = make()
    with pytest.raises(ControlError):
        ctrl.pause()
    ctrl.start("v2")
    ctrl.reconcile()
    ctrl.pause()
    weight = router.weight
    clock.now += 500
    ctrl.reconcile()
    assert ctrl.state.phase == PAUSED and router.weight == weight and ctrl.state.step == 2
    ctrl.resume()
    ctrl.promote()  # skips the running analysis
    ctrl.reconcile()
    assert router.weight == 50
    ctrl.abort()
    assert ctrl.state.phase == DEGRADED and router.weight == 0
    with pytest.raises(ControlError):
        ctrl.promote()
    clock.now += 31
    ctrl.reconcile()
    ctrl.retry()
    assert ("add", "v2") in router.calls[-1:] and ctrl.state.step == 0 and ctrl.state.phase == PROGRESSING
    ctrl.promote(full=True)
    ctrl.reconcile()
    assert ctrl.state.phase == HEALTHY and router.stable == "v2"


def test_starting_twice_or_to_the_stable_version_is_refused(rig):
    make, *_ = rig
    ctrl = make()
    with pytest.raises(ControlError, match="v1 is already the stable version"):
        ctrl.start("v1")
    ctrl.start("v2")
    with pytest.raises(ControlError, match="a rollout to v2 is progressing"):
        ctrl.start("v2")


def test_the_shipped_shadow_phase_copies_predictions_before_any_weight_then_walks_on(rig):
    make, clock, router, provider, lines, _ = rig
    ctrl = make(shadow=True)
    ctrl.start("v2")
    ctrl.reconcile()
    assert router.weight == 0 and [m.name for m in router.mirrors] == ["mirror-route"]
    assert {("method", "exact", "POST"), ("path", "exact", "/api/v1.0/predictions")} == set(router.mirrors[0].matches[1])
    shown = render(view(ctrl))
    assert "Weights:  v1 100%, v2 0%; mirror routes ['mirror-route'] (copies to v2)" in shown, shown
    asked = set(make.judge.urls)
    question = "http://judge/v1/judge?canary=v2-rev&stable=v1-rev"
    assert asked == {f"{question}&weight=33&tests=errors,latency&grace_s=30", f"{question}&weight=0&tests=disagreement&grace_s=45"}
    run_until(ctrl, clock, lambda: router.weight == 10, step_s=0.25)
    assert router.mirrors == [] and 59 <= clock.now - 1000 <= 61  # a minute of copies, then the first weight
    run_until(ctrl, clock, lambda: ctrl.state.phase == HEALTHY)


def test_a_shadow_fail_aborts_before_any_user_request_reaches_the_canary(rig):
    make, clock, router, provider, lines, _ = rig
    ctrl = make(shadow=True)
    make.judge.decision = "fail"
    ctrl.start("v2")
    weights = []
    for _ in range(8):
        ctrl.reconcile()
        weights.append(router.weight)
        clock.now += 0.25
    assert ctrl.state.phase == DEGRADED and set(weights) == {0} and router.mirrors == []
    assert ctrl.state.message.startswith("RolloutAborted: analysis shadow failed: 'fail'")


def test_the_live_view_marks_the_current_step_and_shows_the_mirror(rig):
    from rich.console import Console

    from canary.cli import live

    def frame(ctrl) -> str:
        console = Console(record=True, width=140, color_system=None)
        console.print(live.view(view(ctrl)))
        return " ".join(console.export_text().split())  # the words, whatever the column widths

    make, clock, router, provider, lines, _ = rig
    ctrl = make(shadow=True)
    ctrl.start("v2")
    for _ in range(3):
        ctrl.reconcile()
        clock.now += 1  # the shadow metrics' interval
    shown = frame(ctrl)
    assert "Rollout wine Progressing" in shown and "v1 100% v2 0% mirror routes mirror-route" in shown, shown
    assert "✔ 1/11 canary scale weight 50 ✔ 2/11 mirror route" in shown and "▶ 3/11 analysis shadow 4/11" in shown, shown
    assert "analysis wine-v2-step3: Running" in shown and "shadow Running 3 0 0 continue" in shown, shown
    make.judge.decision = "fail"
    run_until(ctrl, clock, lambda: ctrl.state.aborted, step_s=0.25)
    assert "✖ 3/11 analysis shadow" in frame(ctrl) and "Rollout wine Degraded" in frame(ctrl)
