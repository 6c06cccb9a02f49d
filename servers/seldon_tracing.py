"""Traces from the Seldon wrapper: a server span per REST request, through OpenTelemetry's Flask instrumentation.

seldon-core 1.18 traces only through OpenTracing's Jaeger client (``--tracing``), which no longer
speaks to a current Jaeger. Its REST app is made by ``seldon_core.wrapper.get_rest_microservice``
(``microservice.py``, ``_make_rest_server_prod``), after the user model is constructed: so the
model wraps that function once, and every app it makes is instrumented. Spans continue the
caller's W3C ``traceparent`` and go out as OTLP JSON over HTTP to
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (the wrapper's protobuf 3.20 is too old for OTLP's
protobuf encoding). The SDK's batch processor restarts its thread in each forked gunicorn worker.
"""

import functools
import logging
import os

logger = logging.getLogger("ml_canary.seldon")
ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
# Probes and scrapes are not requests anyone follows.
EXCLUDED = "health/ping,health/status,ready,live,prometheus,metrics"


def enabled() -> bool:
    """True when spans have somewhere to go."""
    return bool(os.environ.get(ENDPOINT))


@functools.cache
def provider():
    """The process's tracer provider: a batch of OTLP JSON spans from service ``seldon`` (as MLServer's are from
    ``mlserver``), unless ``OTEL_SERVICE_NAME`` says otherwise."""
    from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create lets a given name win over OTEL_SERVICE_NAME: name it only when the variable does not
    named = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "seldon"}
    tracer_provider = TracerProvider(resource=Resource.create(named))
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return tracer_provider


def install() -> None:
    """Make every REST app the wrapper builds from now on trace its requests (once per process)."""
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from seldon_core import wrapper

    if getattr(wrapper.get_rest_microservice, "_ml_canary_traced", False):
        return
    build = wrapper.get_rest_microservice

    @functools.wraps(build)
    def traced(*args, **kwargs):
        app = build(*args, **kwargs)
        FlaskInstrumentor.instrument_app(app, tracer_provider=provider(), excluded_urls=EXCLUDED)
        return app

    traced._ml_canary_traced = True  # type: ignore[attr-defined]
    wrapper.get_rest_microservice = traced
    logger.info("traces go to %s", os.environ[ENDPOINT])
