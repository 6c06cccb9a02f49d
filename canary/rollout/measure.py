"""How the controller measures: the step's metrics with their args resolved, and one measurement per provider."""

from canary.rollout import analysis, args, spec
from canary.rollout.analysis import ERROR, SUCCESSFUL, Measurement
from canary.rollout.interfaces import Deployer, ProviderError
from canary.rollout.providers import Clients
from canary.rollout.status import RolloutState
from canary.rollout.web import NotJSON


class Measurer:
    """The controller's measurements: args resolved against the Rollout, metrics asked of their provider."""

    def __init__(self, local_args: dict[str, str], deployer: Deployer, clients: Clients):
        self.local_args, self.deployer, self.clients = local_args, deployer, clients

    def metrics(self, rollout: spec.RolloutSpec, step: spec.Step, state: RolloutState) -> list[spec.Metric]:
        """A step's metrics with the args of the rollout in ``state`` (a rollout under way: it has a target)."""
        assert state.target is not None, "metrics are resolved for a rollout's canary"
        return args.metrics_for(rollout, step, state.target, self.local_args, state.revisions)

    def check_args(self, rollout: spec.RolloutSpec, version: str) -> None:
        """SpecError, before anything starts, when an analysis step's args cannot be resolved for ``version``."""
        unknown: dict[str, str | None] = {"Stable": args.UNKNOWN_REVISION, "Latest": args.UNKNOWN_REVISION}
        for step in rollout.steps:
            if step.templates_used():
                args.resolve(rollout, step, version, self.local_args, unknown)

    def revisions(self) -> dict[str, str | None]:
        """podTemplateHashValue's two values: the stable and the canary (latest) revision."""
        revisions = self.deployer.revisions()
        return {"Stable": revisions.get("stable"), "Latest": revisions.get("canary")}

    def measure(self, metric: spec.Metric) -> Measurement:
        """Never raises: whatever goes wrong is an Error measurement, as in Argo."""
        try:
            value, document = metric.source.measure(self.clients)
            if isinstance(value, NotJSON):
                return Measurement(SUCCESSFUL, str(value)[:200], "the answer is not JSON: Successful, as in Argo")
            phase, message = analysis.judge(metric, value)
            # A judge says why in "summary": the evidence goes into the event line and the abort message.
            message = (document or {}).get("summary") or message
        except ProviderError as exc:
            return Measurement(ERROR, None, str(exc))
        except Exception as exc:  # noqa: BLE001 - a measurement must never take the controller down
            return Measurement(ERROR, None, f"{type(exc).__name__}: {exc}")
        return Measurement(phase, value, message)
