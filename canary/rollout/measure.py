"""How the controller measures: the step's metrics with their args resolved, and one measurement per provider.

A mixin of ``Controller`` (spec, state, platform and local args live there).
"""

from canary.rollout import analysis, args, spec
from canary.rollout.analysis import ERROR, SUCCESSFUL, Measurement
from canary.rollout.web import NotJSON


class MeasureMixin:
    """Metrics and measurements for ``Controller``."""

    def _metrics(self, step: spec.Analysis) -> list[spec.Metric]:
        return args.metrics_for(self.spec, step, self.state.target, self.local_args, self.state.revisions)

    def _check_args(self, version: str) -> None:
        unknown = {"Stable": args.UNKNOWN_REVISION, "Latest": args.UNKNOWN_REVISION}
        for step in self.spec.steps:
            if isinstance(step, spec.Analysis):
                args.resolve(self.spec, step, version, self.local_args, unknown)

    def _revisions(self) -> dict[str, str]:
        """podTemplateHashValue's two values: the stable and the canary (latest) revision."""
        revisions = self.platform.deployer.revisions()
        return {"Stable": revisions.get("stable"), "Latest": revisions.get("canary")}

    def _measure(self, metric: spec.Metric) -> Measurement:
        """Never raises: whatever goes wrong is an Error measurement, as in Argo."""
        try:
            document = None
            if metric.web is None:
                value = self.platform.provider.query(metric.address, metric.query)
            else:
                value, document = self.platform.web.call(metric.web)
            if isinstance(value, NotJSON):
                return Measurement(SUCCESSFUL, str(value)[:200], "the answer is not JSON: Successful, as in Argo")
            phase, message = analysis.judge(metric, value)
            # A judge says why in "summary": the evidence goes into the event line and the abort message.
            message = (document or {}).get("summary") or message
        except analysis.ProviderError as exc:
            return Measurement(ERROR, None, str(exc))
        except Exception as exc:  # noqa: BLE001 - a measurement must never take the controller down
            return Measurement(ERROR, None, f"{type(exc).__name__}: {exc}")
        return Measurement(phase, value, message)
