"""The saved state across restarts and upgrades: a schema version, and a hash of the steps it was made with.

``state.step`` indexes the Rollout's steps and a saved analysis names its template's metrics, so
a state is only meaningful with the steps it was made with. Argo records
``status.currentStepHash`` and starts the steps over when they change (rollout/sync.go,
``checkStepHashChange``). Starting over silently would surprise the person who edited k8s/ in
the middle of a rollout, so the controller refuses to start and names both ways out: put k8s/
back, or ``canary controller --restart-steps`` to do what Argo does.
"""

import dataclasses
import hashlib
import json
from collections.abc import Callable

from canary.rollout import spec
from canary.rollout.state import Store
from canary.rollout.status import RolloutState

SCHEMA = 2  # 1: the states saved before the schema and the steps' hash were (read as they are: no field changed)


class SavedStateError(Exception):
    """The saved state cannot be resumed by this controller with this k8s/; the message says the way out."""


def steps_hash(rollout: spec.RolloutSpec) -> str:
    """A hash of the steps as written (Argo's ``currentStepHash`` covers them only) and of the metric names of the
    templates they name, which a saved analysis refers to; from the YAML, so a new parser field changes nothing."""
    steps = rollout.doc.get("spec", {}).get("strategy", {}).get("canary", {}).get("steps", [])
    named = {name for step in rollout.steps for name in step.templates_used()}
    metrics = {name: sorted(m.name for m in rollout.templates[name].metrics) for name in sorted(named)
               if name in rollout.templates}
    text = json.dumps({"steps": steps, "metrics": metrics}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load(store: Store, rollout: spec.RolloutSpec, stable: Callable[[], str], now: float, restart_steps: bool = False
         ) -> tuple[RolloutState, bool, list[str]]:
    """(state, whether it was saved, event lines); SavedStateError when it cannot be resumed as it is."""
    doc = store.load()
    if doc is None:
        return RolloutState(stable=stable()), False, []
    schema = doc.get("schema", 1)
    unknown = sorted(set(doc) - {f.name for f in dataclasses.fields(RolloutState)})
    if schema > SCHEMA or unknown:
        raise SavedStateError(f"{store.path} was written by a newer controller (state schema {schema}"
                              + (f", fields {', '.join(unknown)}" if unknown else "") + f"; this one reads up to "
                              f"{SCHEMA}): run that version, or move the file away to start with no rollout and no history")
    state, current = RolloutState(**doc), steps_hash(rollout)
    if not (state.steps_hash and state.steps_hash != current and state.target and not state.aborted):
        return state, True, []
    where = f"the rollout to {state.target} at step {state.step + 1}"
    if not restart_steps:
        raise SavedStateError(f"the Rollout's steps or AnalysisTemplates in k8s/ changed under {where}: put k8s/ "
                              "back as it was and finish or abort the rollout, or start the controller with "
                              "--restart-steps to start it over at step 1 with the new steps, as Argo does")
    restarted = RolloutState(stable=state.stable, phase="Progressing", target=state.target, faults=state.faults,
                             retire=state.retire, revisions=state.revisions, starting=state.starting,
                             history=[*state.history, {"step": 0, "at": now, "kind": "steps changed", "weight": 0}])
    return restarted, True, [f"the steps changed under {where}: --restart-steps starts it over at step 1, "
                             "canary weight 0, with the new steps"]
