"""Each control's rule, as the dashboard shows it (canary.rollout.guards), is what the control itself enforces."""

import pytest

from canary.rollout import guards
from canary.rollout.controller import ControlError
from tests.canary.rollout.test_controller import rig  # noqa: F401 - the controller over fakes


def _at_analysis(ctrl):
    ctrl.start("v2")
    for _ in range(5):
        ctrl.reconcile()
        if type(ctrl.spec.steps[ctrl.state.step]).__name__ == "Analysis":
            return
    raise AssertionError("the Rollout reached no analysis step")


STATES = {
    "healthy": lambda ctrl: None,
    "at its first step": lambda ctrl: ctrl.start("v2"),
    "at an analysis": _at_analysis,
    "paused by request": lambda ctrl: (ctrl.start("v2"), ctrl.pause()),
    "aborted": lambda ctrl: (ctrl.start("v2"), ctrl.abort()),
}
CONTROLS = {
    "rollout": lambda ctrl: ctrl.start("v2"), "pause": lambda ctrl: ctrl.pause(), "resume": lambda ctrl: ctrl.resume(),
    "promote": lambda ctrl: ctrl.promote(), "promote_full": lambda ctrl: ctrl.promote(full=True),
    "abort": lambda ctrl: ctrl.abort(), "retry": lambda ctrl: ctrl.retry(),
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("control", CONTROLS)
def test_a_control_is_refused_exactly_when_the_dashboard_says_so_and_for_that_reason(rig, state, control):  # noqa: F811
    make, *_ = rig
    ctrl = make()
    STATES[state](ctrl)
    shown = guards.refusals(ctrl.state, ctrl.spec.steps)[control]
    try:
        CONTROLS[control](ctrl)
        refused = None
    except ControlError as exc:
        refused = str(exc)
    assert shown == refused


def test_every_control_the_page_draws_has_a_rule():
    assert set(guards.CONTROLS) == set(CONTROLS)


APPLIES = {  # what a person may do in each state (kubectl argo rollouts' rules, as the controller keeps them)
    "healthy": {"rollout"},
    "at its first step": {"pause", "promote_full", "abort"},
    "at an analysis": {"pause", "promote", "promote_full", "abort"},
    "paused by request": {"pause", "resume", "promote_full", "abort"},
    "aborted": {"rollout", "retry"},
}


@pytest.mark.parametrize("state", STATES)
def test_which_controls_apply_in_each_state(rig, state):  # noqa: F811
    make, *_ = rig
    ctrl = make()
    STATES[state](ctrl)
    shown = guards.refusals(ctrl.state, ctrl.spec.steps)
    assert {name for name, reason in shown.items() if reason is None} == APPLIES[state]
