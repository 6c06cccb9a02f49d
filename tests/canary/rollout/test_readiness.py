"""The readiness gate: a canary that is not ready gets no more traffic and is never promoted (Argo's rule)."""

from canary.rollout import spec
from canary.rollout.controller import DEGRADED, HEALTHY
from tests.canary.rollout.test_controller import rig, run_until  # noqa: F401 - the controller over fakes


class Counting:
    """Counts the deployer's readiness reads."""

    def __init__(self, router):
        self.router, self.reads = router, 0

    def __call__(self):
        self.reads += 1
        return self.router.canary is not None and self.router.ready


def test_a_canary_not_ready_at_a_weight_step_keeps_its_weight_until_it_is(rig):  # noqa: F811
    make, clock, router, *_ = rig
    ctrl = make()
    router.ready = False
    ctrl.start("v2")
    for _ in range(30):
        ctrl.reconcile()
        clock.now += 1
    assert router.weight == 0 and ctrl.state.step == 0 and ctrl.state.unready_since is not None
    assert any("canary v2 is not ready" in e["line"] for e in ctrl.store.events())
    router.ready = True
    run_until(ctrl, clock, lambda: router.weight == 10)
    assert ctrl.state.unready_since is None


def test_a_canary_that_dies_before_its_promotion_is_not_promoted_and_the_deadline_aborts(rig):  # noqa: F811
    make, clock, router, *_ = rig
    ctrl = make()
    assert isinstance(ctrl.spec.steps.pop(), spec.SetWeight)  # the last analysis leads straight to the promotion
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.state.weight == 50 and ctrl.run is not None)  # the last analysis
    router.ready = False  # its runtime dies while the analysis passes
    run_until(ctrl, clock, lambda: ctrl.state.phase != "Progressing" or ctrl.state.step == len(ctrl.spec.steps))
    run_until(ctrl, clock, lambda: ctrl.state.phase == DEGRADED)
    assert ("promote", "v2") not in router.calls and router.stable == "v1"
    assert "canary v2 not ready for 10m (progressDeadlineSeconds)" in ctrl.state.message


def test_readiness_is_read_only_when_a_step_would_give_the_canary_traffic(rig):  # noqa: F811
    make, clock, router, *_ = rig
    ctrl = make()
    router.canary_ready = reads = Counting(router)
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.state.phase == HEALTHY)
    weights = sum(isinstance(step, spec.SetWeight) and step.weight > 0 for step in ctrl.spec.steps)
    # Once per step that gives traffic (the promotion shares the last step's pass), never in an analysis's passes.
    assert reads.reads == weights == 3


def test_without_progress_deadline_abort_the_rollout_says_it_timed_out_and_goes_on_once_ready(rig):  # noqa: F811
    make, clock, router, *_ = rig
    ctrl = make()
    ctrl.spec.progress_deadline_abort = False
    router.ready = False
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.state.message.startswith("ProgressDeadlineExceeded"))
    assert ctrl.state.phase == "Progressing" and router.weight == 0 and "not ready for 10m" in ctrl.state.message
    router.ready = True
    run_until(ctrl, clock, lambda: router.weight == 10)
    assert ctrl.state.message == ""


def test_time_paused_does_not_count_toward_the_progress_deadline(rig):  # noqa: F811
    make, clock, router, *_ = rig
    ctrl = make()
    router.ready = False
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.state.unready_since is not None)
    ctrl.pause()
    clock.now += 3600  # an hour paused, the canary still not ready
    ctrl.resume()
    ctrl.reconcile()
    assert ctrl.state.phase == "Progressing" and ctrl.state.message.startswith("CanaryNotReady")
