"""The runtime's part of a trace: which version and revision answered, how, and which injected fault fired.

Both runtimes write these attributes on the span of the request they serve: MLServer's own
server span (its built-in tracing, on when ``MLSERVER_TRACING_SERVER`` names an OTLP gRPC
endpoint), the Seldon wrapper's through OpenTelemetry's SDK (servers.seldon_tracing). The
names are the trace half of the metric contract (docs/metrics.md, "Traces").
"""

import os

from servers.faults import KIND_ERROR, KIND_LATENCY, KIND_WRONG
from servers.metrics import OUTCOME_INVALID, OUTCOME_OK
from servers.predictor import Call

ATTR_VERSION = "ml_canary.version"
ATTR_REVISION = "ml_canary.revision"
ATTR_OUTCOME = "ml_canary.outcome"
ATTR_FAULT = "ml_canary.fault"
ATTR_DELAY_MS = "ml_canary.injected_delay_ms"
NO_FAULT = "none"


def mlserver_enabled() -> bool:
    """True when MLServer exports spans: only then is a request's span worth a look per request."""
    return bool(os.environ.get("MLSERVER_TRACING_SERVER"))


def revision() -> str:
    """This runtime's revision as the rest of the stack names it (the answers' ``ANSWERS_REVISION``)."""
    return os.environ.get("ANSWERS_REVISION", "")


def fired(call: Call, outcome: str) -> str:
    """The injected faults that changed this call, comma-separated, or ``none``."""
    decision = call.decision
    valid = outcome != OUTCOME_INVALID  # a refused call sleeps and fails for its input only
    kinds = [kind for kind, on in ((KIND_LATENCY, decision.delay_s > 0 and valid), (KIND_ERROR, decision.fail and valid),
                                   (KIND_WRONG, decision.wrong and outcome == OUTCOME_OK)) if on]
    return ",".join(kinds) or NO_FAULT


def attributes(version: str, revision_: str, call: Call, outcome: str) -> dict[str, str | float]:
    """What the runtime's span says of one call."""
    out: dict[str, str | float] = {ATTR_VERSION: version, ATTR_REVISION: revision_, ATTR_OUTCOME: outcome,
                                   ATTR_FAULT: fired(call, outcome)}
    if call.decision.delay_s > 0 and outcome != OUTCOME_INVALID:
        out[ATTR_DELAY_MS] = round(call.decision.delay_s * 1000, 3)
    return out


def annotate(version: str, revision_: str, call: Call, outcome: str) -> None:
    """Write the call's attributes on the current span, if one is being recorded."""
    from opentelemetry import trace  # imported only where tracing is on: the Seldon venv may lack it

    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(attributes(version, revision_, call, outcome))
