"""Argo's setMirrorRoute step in the local controller: copies of matching requests go to the canary,
answered as usual; an abort or a promotion removes the route, as Argo removes managed routes."""

import dataclasses

import pytest

from canary.rollout import spec
from canary.rollout.interfaces import MirrorRoute
from canary.rollout.status import DEGRADED, HEALTHY
from tests.canary.rollout.test_controller import rig, run_until  # noqa: F401 - the fixture

MIRROR = spec.SetMirrorRoute("shadow", 100, ({"method": {"exact": "POST"}, "path": {"prefix": "/v2/models/wine"}},))


def _with_steps(make, *steps):
    ctrl = make()
    ctrl.spec = dataclasses.replace(ctrl.spec, steps=list(steps), managed_routes=["canary-header", "shadow"])
    return ctrl


def test_a_mirror_step_copies_matching_requests_to_the_canary_and_promotion_removes_it(rig):  # noqa: F811
    make, clock, router, provider, lines, _ = rig
    ctrl = _with_steps(make, MIRROR, spec.Pause(30.0), spec.SetWeight(100))
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.state.step == 1)
    assert router.weight == 0 and router.mirrors == [
        MirrorRoute("shadow", 100, ((("method", "exact", "POST"), ("path", "prefix", "/v2/models/wine")),))]
    assert any("mirror route shadow: 100% of matching requests copied to v2" in line for line in lines)
    run_until(ctrl, clock, lambda: ctrl.state.phase == HEALTHY and ctrl.state.target is None)
    assert ctrl.state.mirror_routes == {} and router.mirrors == []


def test_an_abort_removes_the_mirror_route(rig):  # noqa: F811
    make, clock, router, *_ = rig
    ctrl = _with_steps(make, MIRROR, spec.Pause(None))
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.state.step == 1)
    ctrl.abort()
    assert ctrl.state.phase == DEGRADED and router.mirrors == [] and router.weight == 0


def _load_step(raw: dict):
    doc = {"metadata": {"name": "wine"}, "spec": {"strategy": {"canary": {
        "trafficRouting": {"managedRoutes": [{"name": "shadow"}]}, "steps": [raw]}}}}
    return spec.parse_rollout(doc, {}).steps[0]


def test_the_step_loads_as_argo_writes_it_with_percentage_100_by_default():
    step = _load_step({"setMirrorRoute": {"name": "shadow", "match": [{"method": {"exact": "POST"}}]}})
    assert step == spec.SetMirrorRoute("shadow", 100, ({"method": {"exact": "POST"}},))
    assert _load_step({"setMirrorRoute": {"name": "shadow"}}).match == ()  # no match: the route is removed


@pytest.mark.parametrize("body, message", [
    ({"name": "copy", "match": [{"method": {"exact": "POST"}}]}, "is not in trafficRouting.managedRoutes"),
    ({"name": "shadow", "percentage": 150, "match": [{"method": {"exact": "POST"}}]}, "setMirrorRoute.percentage: input should be less than or equal to 100"),
    ({"name": "shadow", "match": [{"path": {"glob": "/v2/*"}}]}, "setMirrorRoute.match.0.path: needs exactly one of exact, prefix, regex"),
])
def test_a_bad_mirror_step_is_refused_at_load(body, message):
    with pytest.raises(spec.SpecError, match=message):
        _load_step({"setMirrorRoute": body})
