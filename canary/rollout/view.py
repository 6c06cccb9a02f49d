"""The rollout as people and the API see it: phase, step, weights, the analysis, recent events."""

from typing import TYPE_CHECKING, Any

from canary.rollout.analysis import AnalysisRun
from canary.rollout.guards import refusals

if TYPE_CHECKING:
    from canary.rollout.controller import Controller


def view(ctrl: "Controller", events: int = 20) -> dict[str, Any]:
    """What 'canary get' shows, read under the controller's lock."""
    with ctrl.lock:
        s, steps, run = ctrl.state, ctrl.spec.steps, ctrl.run
        out = {**s.summary(), "name": ctrl.spec.name, "message": s.message, "paused": s.paused, "pause_reason": s.pause_reason,
               "steps": len(steps), "plan": [step.label() for step in steps], "header_routes": sorted(s.header_routes),
               "mirror_routes": sorted(s.mirror_routes), "faults": s.faults, "revisions": dict(s.revisions),
               "time_scale": ctrl.time_scale, "history": list(s.history),
               "current_step": type(steps[s.step]).__name__ if s.target and s.step < len(steps) else None,
               "analysis": _analysis(run) if run else None,
               "controls": refusals(s, steps)}  # why each control does not apply now (None: it does)
    out["events"] = ctrl.store.events(limit=events)
    out["rollouts"] = ctrl.store.rollouts(10)
    return out


def _analysis(run: AnalysisRun) -> dict[str, Any]:
    return {"name": run.name, "phase": run.phase, "metrics": [
        {"name": n, "phase": st.phase, "count": st.count, "failed": st.failed, "inconclusive": st.inconclusive,
         "errors": st.error, "success_condition": run.metrics[n].success_condition,
         "failure_condition": run.metrics[n].failure_condition, "failure_limit": run.metrics[n].failure_limit, "measurements": [{"phase": m.phase, "value": m.value, "message": m.message, "at": m.at}
                                              for m in st.measurements[-6:]]}
        for n, st in run.states.items()]}
