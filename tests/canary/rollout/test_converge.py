"""The controller converges: each platform call fails, or the controller dies right after it, at each point of a
rollout, and the platform ends as the saved state says with no person acting; drift made by hand is repaired."""

import pytest

from canary.rollout import converge
from canary.rollout.controller import DEGRADED, HEALTHY, Controller, Platform
from canary.rollout.interfaces import Observed
from canary.rollout.state import Store
from tests.canary.conftest import weighted_steps
from tests.canary.rollout.test_controller import Clock, Judge, Provider

CALLS = ("add_canary", "remove_canary", "promote_canary", "retire", "set_routing")


class Crash(BaseException):
    """The controller's process dies right after a platform call returned (not an Exception: nothing catches it)."""


class Cluster:
    """The platform in memory, with the local stack's rules (one canary; no routes without it), read back by
    ``observe``; ``inject(call, n, mode)`` makes the n-th call of that name raise, or crash the controller after it."""

    def __init__(self):
        self.stable, self.canary, self.alive = "v1", None, {"v1": True}
        self.weight, self.headers, self.mirrors = 0, frozenset(), frozenset()
        self.log, self.fault = [], None
        self.loads_late, self.loaded = False, None

    def inject(self, call: str, n: int, mode: str) -> None:
        self.fault = (call, n, mode)

    def _enter(self, call: str) -> str | None:
        """Count the call; raise for an injected failure; 'crash' when the controller dies after it."""
        self.log.append(call)
        if self.fault and self.fault[0] == call and self.log.count(call) == self.fault[1]:
            mode, self.fault = self.fault[2], None
            if mode == "raise":
                raise RuntimeError(f"{call} failed")
            return mode
        return None

    def _done(self, mode: str | None) -> None:
        if mode == "crash":
            raise Crash

    def stable_revision(self):
        return self.stable

    def revisions(self):
        return {"stable": f"{self.stable}-rev", "canary": self.canary and f"{self.canary}-rev"}

    def add_canary(self, version, faults):
        mode = self._enter("add_canary")
        assert self.canary is None and not self.alive.get(version), "the stack refuses a second canary"
        self.canary, self.alive[version] = version, True
        self._done(mode)

    def canary_ready(self):
        return bool(self.canary and self.alive.get(self.canary))

    def remove_canary(self):
        mode = self._enter("remove_canary")
        if self.canary:
            self.alive.pop(self.canary, None)
            self.canary, self.weight, self.headers, self.mirrors = None, 0, frozenset(), frozenset()
        self._done(mode)

    def promote_canary(self):
        mode = self._enter("promote_canary")
        assert self.canary, "no canary to promote"
        self.stable, self.canary, self.weight, self.headers, self.mirrors = self.canary, None, 0, frozenset(), frozenset()
        self._done(mode)

    def retire(self, version):
        mode = self._enter("retire")
        assert version not in (self.stable, self.canary), "a version that serves is not retired"
        self.alive.pop(version, None)
        self._done(mode)

    def set_routing(self, weight, routes, mirrors=()):
        mode = self._enter("set_routing")
        assert self.canary or not (weight or routes or mirrors), "no routes without a canary"
        self.weight, self.headers, self.mirrors = weight, frozenset(r.name for r in routes), frozenset(m.name for m in mirrors)
        self._done(mode)

    def observe(self) -> Observed:
        split = {self.stable: 100 - self.weight, **({self.canary: self.weight} if self.canary else {})}
        routes = (tuple(sorted((v, w) for v, w in split.items() if w)), self.headers, self.mirrors)
        if self.loads_late:  # a gateway that shows a change only by its next look (Envoy reading a route file)
            routes, self.loaded = self.loaded or routes, routes
        return Observed(self.stable, self.canary, frozenset(v for v, up in self.alive.items() if up), *routes)


class Rig:
    """A controller over a Cluster that is built again from its store whenever it crashes."""

    def __init__(self, tmp_path, decision="continue"):
        self.clock, self.cluster, self.tmp_path = Clock(), Cluster(), tmp_path
        self.spec, self.judge = weighted_steps(tmp_path / "k8s"), Judge(decision)
        self.ctrl = self.build()

    def build(self) -> Controller:
        c = self.cluster
        return Controller(self.spec, Store(self.tmp_path / "c.db", self.clock),
                          Platform(c, c, Provider(), self.judge, observer=c), prometheus_address="http://prom",
                          judge_address="http://judge", clock=self.clock, emit=lambda line: None)

    def act(self, action) -> None:
        """A control or a reconcile, as the loop runs it: an error is logged and tried again; a crash restarts."""
        try:
            action(self.ctrl)
        except Crash:
            self.ctrl = self.build()
        except Exception:  # noqa: BLE001 - the loop's warning
            pass

    def run(self, seconds: float, step_s: float = 0.5) -> None:
        for _ in range(int(seconds / step_s)):
            self.act(Controller.reconcile)
            self.clock.now += step_s


def desired(ctrl: Controller) -> tuple:
    """What the saved state says the platform should be, once every delay has passed."""
    s = ctrl.state
    canary = s.target if s.target and not s.aborted else None
    routes = (s.weight, frozenset(s.header_routes), frozenset(s.mirror_routes))
    return s.stable, canary, {s.stable} | ({canary} if canary else set()), routes


def actual(cluster: Cluster) -> tuple:
    running = {v for v, up in cluster.alive.items() if up}
    return cluster.stable, cluster.canary, running, (cluster.weight, cluster.headers, cluster.mirrors)


def calls_of(decision: str, tmp_path) -> list[str]:
    """The platform calls of a clean rollout, in order."""
    rig = Rig(tmp_path / f"clean-{decision}", decision)
    rig.act(lambda c: c.start("v2"))
    rig.run(1500)
    return rig.cluster.log


def points(decision: str, tmp_path) -> list[tuple[str, int]]:
    log = calls_of(decision, tmp_path)
    return [(call, log[:i + 1].count(call)) for i, call in enumerate(log)]


@pytest.mark.parametrize("decision", ["continue", "fail"])
@pytest.mark.parametrize("mode", ["raise", "crash"])
def test_a_failure_at_any_call_of_a_rollout_ends_with_the_platform_as_the_state_says(tmp_path, decision, mode):
    at = points(decision, tmp_path)
    assert {call for call, _ in at} >= ({"add_canary", "set_routing", "promote_canary", "retire"} if decision == "continue"
                                        else {"add_canary", "set_routing", "remove_canary"})
    for i, (call, n) in enumerate(at):
        rig = Rig(tmp_path / f"{i}", decision)
        rig.cluster.inject(call, n, mode)
        rig.act(lambda c: c.start("v2"))
        rig.run(1500)
        s = rig.ctrl.state
        assert s.phase in (HEALTHY, DEGRADED), f"{mode} at {call} #{n}: stuck at {s.summary()}"
        assert actual(rig.cluster) == desired(rig.ctrl), f"{mode} at {call} #{n}: the platform differs from the state"
        if decision == "continue" and not (call == "add_canary" and n == 1):  # only a failed start ends the rollout
            assert s.phase == HEALTHY and s.stable == "v2", f"{mode} at {call} #{n}: {s.message}"


def test_a_scale_down_that_failed_is_done_again_and_the_next_rollout_is_not_refused(tmp_path):
    rig = Rig(tmp_path, "fail")
    rig.cluster.inject("remove_canary", 1, "raise")
    rig.act(lambda c: c.start("v2"))
    rig.run(120)
    assert rig.ctrl.state.aborted and rig.ctrl.state.canary_down_at is None and rig.cluster.canary is None
    assert rig.cluster.log.count("remove_canary") == 2
    rig.judge.decision = "continue"
    rig.ctrl.start("v2")  # once refused: "a canary (v2) already runs"
    rig.run(1500)
    assert rig.ctrl.state.phase == HEALTHY and actual(rig.cluster) == desired(rig.ctrl)


def test_a_canary_killed_by_hand_is_started_again_and_the_rollout_goes_on(tmp_path):
    rig = Rig(tmp_path)
    rig.act(lambda c: c.start("v2"))
    rig.run(30)
    assert rig.ctrl.state.weight == 10
    rig.cluster.alive["v2"] = False  # the runtime's process killed
    rig.run(6)
    assert rig.cluster.log.count("add_canary") == 2 and rig.cluster.alive["v2"]
    assert rig.cluster.weight == rig.ctrl.state.weight  # its routes given back once it runs
    rig.run(1500)
    assert rig.ctrl.state.phase == HEALTHY and actual(rig.cluster) == desired(rig.ctrl)
    lines = [e["line"] for e in rig.ctrl.store.events()]
    assert "drift: canary v2 is not running: starting it again" in lines


def test_routes_the_gateway_lost_are_set_again_within_two_looks(tmp_path):
    rig = Rig(tmp_path)
    rig.act(lambda c: c.start("v2"))
    rig.run(30)
    assert rig.cluster.weight == 10
    rig.cluster.weight = 0  # the gateway restarted from an older route file
    rig.run(2 * converge.EVERY_S + 1)
    assert rig.cluster.weight == 10
    assert "drift: the gateway splits v1 100% with routes ['canary-header'], the rollout v1 90% v2 10% with " \
           "['canary-header']: routes set again" in [e["line"] for e in rig.ctrl.store.events()]


def test_a_change_under_way_is_not_taken_for_drift(tmp_path):
    rig = Rig(tmp_path)
    rig.cluster.loads_late = True
    rig.act(lambda c: c.start("v2"))
    rig.run(1500)
    assert rig.ctrl.state.phase == HEALTHY
    assert not [e["line"] for e in rig.ctrl.store.events() if e["line"].startswith("drift")]


def test_a_version_left_running_is_scaled_down(tmp_path):
    rig = Rig(tmp_path)
    rig.cluster.alive["v0"] = True  # a retire that never happened
    rig.run(2 * converge.EVERY_S + 1)
    assert "v0" not in rig.cluster.alive and rig.cluster.log == ["retire"]


def test_a_promotion_the_controller_did_not_record_completes_the_rollout(tmp_path):
    rig = Rig(tmp_path)
    rig.act(lambda c: c.start("v2"))
    rig.run(30)
    rig.cluster.promote_canary()  # done on the platform; the controller's save never happened
    rig.run(2 * converge.EVERY_S + 1)
    s = rig.ctrl.state
    assert s.phase == HEALTHY and s.stable == "v2" and rig.cluster.log.count("promote_canary") == 1
    assert [r["outcome"] for r in rig.ctrl.store.rollouts()] == ["promoted"]


def test_without_an_observer_nothing_is_read_back(tmp_path):
    rig = Rig(tmp_path)
    rig.ctrl = Controller(rig.spec, Store(tmp_path / "other.db", rig.clock),
                          Platform(rig.cluster, rig.cluster, Provider(), rig.judge), prometheus_address="http://prom",
                          judge_address="http://judge", clock=rig.clock, emit=lambda line: None)
    rig.cluster.alive["v0"] = True
    rig.run(10)
    assert rig.cluster.alive["v0"] and rig.cluster.log == []


def test_a_controller_restarted_while_it_started_a_killed_canary_again_goes_on_with_the_rollout(tmp_path):
    rig = Rig(tmp_path)
    rig.act(lambda c: c.start("v2"))
    rig.run(30)
    rig.cluster.alive["v2"] = False
    rig.cluster.inject("add_canary", 2, "crash")  # the controller dies as the second start returns
    rig.run(6)
    assert rig.cluster.log.count("add_canary") == 2 and not rig.ctrl.state.aborted  # not taken for a first start
    rig.run(1500)
    assert rig.ctrl.state.phase == HEALTHY and actual(rig.cluster) == desired(rig.ctrl)
    assert [r["outcome"] for r in rig.ctrl.store.rollouts()] == ["promoted"]


def test_an_abort_while_a_killed_canary_starts_again_makes_no_call_that_waits_behind_the_start(tmp_path):
    rig = Rig(tmp_path)
    rig.act(lambda c: c.start("v2"))
    rig.run(30)
    rig.cluster.alive["v2"] = False
    real_add = rig.cluster.add_canary

    def add_and_abort(version, faults):  # the abort arrives while the runtime starts
        rig.cluster.log.append("abort")
        rig.ctrl.abort("by hand")
        real_add(version, faults)

    rig.cluster.add_canary = add_and_abort
    rig.run(6)
    log = rig.cluster.log
    assert "abort" in log and "set_routing" not in log[log.index("abort"):log.index("abort") + 2]
    rig.run(120)
    assert rig.ctrl.state.aborted and actual(rig.cluster) == desired(rig.ctrl)


def test_a_platform_serving_another_stable_is_said_once_and_not_repaired(tmp_path):
    rig = Rig(tmp_path)
    rig.cluster.stable, rig.cluster.alive = "v3", {"v3": True}  # the stack started again with another version
    rig.run(20)
    lines = [e["line"] for e in rig.ctrl.store.events() if e["line"].startswith("drift")]
    assert lines == ["drift: the platform serves v3 as stable, the rollout v1: not repaired (start the stack with "
                     "CANARY_STABLE_VERSION=v1, or move controller.db away)"]
    assert rig.cluster.log == [] and rig.ctrl.looks.repairs == 0


def test_a_repair_the_platform_refuses_is_said_and_tried_again(tmp_path):
    rig = Rig(tmp_path)
    rig.act(lambda c: c.start("v2"))
    rig.run(30)
    rig.cluster.weight = 0
    rig.cluster.inject("set_routing", rig.cluster.log.count("set_routing") + 1, "raise")
    rig.run(4 * converge.EVERY_S + 1)
    lines = [e["line"] for e in rig.ctrl.store.events()]
    assert "drift: the repair failed: RuntimeError: set_routing failed" in lines
    assert rig.cluster.weight == 10 and rig.ctrl.looks.repairs == 1
