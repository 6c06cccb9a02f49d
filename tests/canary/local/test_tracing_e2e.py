"""Tracing on the real stack: Jaeger v2, the gateway's and the sidecars' Envoys, the runtime's own spans."""

import secrets
import time

import httpx
import pytest

from canary import jaeger
from canary.cli import judge as cli_judge
from canary.dashboard.browser import chromium, run, text
from canary.local import sidecar
from canary.local.client import StackClient
from canary.local.envoy import OTLP_CLUSTER
from canary.local.harness import free_port_env
from canary.polling import wait_until
from servers import tracing
from tests.canary.conftest import start_stack

pytestmark = pytest.mark.integration
ROW = [13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]
BODY = {"inputs": [{"name": "features", "shape": [1, 13], "datatype": "FP64", "data": ROW}]}


@pytest.fixture(scope="module", params=["mlserver", "seldon"])
def traced(request, artifact_root, tmp_path_factory):
    """A stack on each runtime that traces every request to its own Jaeger (CANARY_TRACING=on)."""
    env = {**free_port_env(), "CANARY_ARTIFACTS": str(artifact_root), "CANARY_TRACING": "on"}
    harness = start_stack(tmp_path_factory.mktemp("traced") / "run", env, request.param)
    harness.jaeger, harness.runtime = StackClient(harness.run_dir).status()["traces"], request.param
    yield harness
    harness.stop()


def infer(harness, parent: tuple[str, str] | None = None) -> tuple[httpx.Response, str]:
    """One request through the gateway with a client's traceparent (a fresh one unless given); its trace id."""
    trace_id, span_id = parent or (secrets.token_hex(16), secrets.token_hex(8))
    headers = {"traceparent": f"00-{trace_id}-{span_id}-01"}
    if harness.runtime == "seldon":
        response = httpx.post(f"{harness.gateway}/api/v1.0/predictions", json={"data": {"ndarray": [ROW]}},
                              headers=headers, timeout=10)
    else:
        response = httpx.post(f"{harness.gateway}/v2/models/wine/infer", json=BODY, headers=headers, timeout=10)
    return response, trace_id


def spans_of(harness, trace_id: str, services: set[str]) -> dict[str, jaeger.Span]:
    """The trace's span of each service, once Jaeger holds them all (Envoy sends its spans every 5 s)."""
    found: dict[str, jaeger.Span] = {}

    def complete() -> bool:
        found.clear()
        for span in jaeger.trace(harness.jaeger, trace_id):
            if span.service in services and span.tags.get("span.kind") == "server":
                found[span.service] = span
        return set(found) == services

    assert wait_until(complete, 30, every_s=0.5), f"trace {trace_id}: only {sorted(found)} of {sorted(services)}"
    return found


def test_a_request_is_one_trace_from_the_gateway_to_the_version_that_answered_continuing_the_callers(traced):
    caller_span = secrets.token_hex(8)
    response, trace_id = infer(traced, (secrets.token_hex(16), caller_span))
    assert response.status_code == 200, response.text
    runtime = traced.runtime
    spans = spans_of(traced, trace_id, {"gateway", "wine-v1", runtime})
    status = StackClient(traced.run_dir).status()
    # one chain: the caller's span, the gateway's, the version's sidecar, the runtime
    assert spans["gateway"].parent_id == caller_span
    assert spans["gateway"].tags["upstream_cluster"] == "wine-v1"
    assert spans["wine-v1"].parent_id == spans["gateway"].span_id
    assert spans["wine-v1"].tags["revision"] == status["stable_revision"]
    assert spans[runtime].parent_id == spans["wine-v1"].span_id
    assert spans[runtime].tags[tracing.ATTR_VERSION] == "v1"
    assert spans[runtime].tags[tracing.ATTR_REVISION] == status["stable_revision"]
    assert spans[runtime].tags[tracing.ATTR_OUTCOME] == "ok"
    assert spans[runtime].tags[tracing.ATTR_FAULT] == "none"
    # the exports themselves are not counted: the judge and the rules sum every cluster of an Envoy as requests
    for admin in (traced.settings.envoy_admin_port, sidecar.ports(traced.settings.stable_port)[1]):
        stats = httpx.get(f"http://127.0.0.1:{admin}/stats/prometheus", timeout=5).text
        assert "envoy_cluster_upstream_rq_total" in stats and f'envoy_cluster_name="{OTLP_CLUSTER}"' not in stats


def test_an_injected_300_ms_shows_in_the_canary_runtime_span_and_leads_its_slowest_requests(traced):
    client = StackClient(traced.run_dir)
    client.add_canary("v2", {"FAULT_LATENCY_MS": "300"})
    try:
        client.set_routing(100)
        response, trace_id = infer(traced)
        assert response.status_code == 200, response.text
        runtime = traced.runtime
        spans = spans_of(traced, trace_id, {"gateway", "wine-v2", runtime})
        assert spans[runtime].tags[tracing.ATTR_VERSION] == "v2"
        assert spans[runtime].tags[tracing.ATTR_FAULT] == "latency"
        assert spans[runtime].tags[tracing.ATTR_DELAY_MS] == 300
        assert spans[runtime].duration_us >= 300_000
        assert spans["wine-v2"].duration_us >= spans[runtime].duration_us
        slow = jaeger.slowest(traced.jaeger, "wine-v2", limit=3)
        assert slow and slow[0].trace_id == trace_id and slow[0].duration_ms >= 300
        assert httpx.get(slow[0].url, timeout=5).json()["data"][0]["traceID"] == trace_id  # Jaeger's query API
        # what 'canary judge' adds under a failed latency test: this trace, over the bound; none over 400 ms
        failed = {"tests": [{"name": "latency", "verdict": "fail"}], "at": time.time(), "seconds": 60.0}
        status = client.status()
        named = cli_judge.slow_trace(status, {**failed, "latency_bound_ms": 250.0})
        assert named and named["trace_id"] == trace_id and named["url"] == slow[0].url, named
        assert "no traced canary answer over the bound" in cli_judge.slow_trace(
            status, {**failed, "latency_bound_ms": 400.0 + spans["wine-v2"].duration_us / 1000})["off"]
    finally:
        client.remove_canary()


def test_the_dashboard_links_a_versions_slowest_request_to_its_trace(traced):
    control = traced.start_controller(4)
    control.post("/fault", {"version": "v1", "latency_ms": 300})
    try:
        response, trace_id = infer(traced)
    finally:
        control.post("/fault", {"version": "v1", "latency_ms": 0})
    assert response.status_code == 200, response.text
    spans_of(traced, trace_id, {"gateway", "wine-v1", traced.runtime})  # each exports on its own timer
    base = f"http://127.0.0.1:{traced.control_port}"
    doc = httpx.get(f"{base}/traces", timeout=10).json()
    assert doc["jaeger"] == traced.jaeger and doc["off"] is None
    assert doc["versions"]["v1"][0]["trace_id"] == trace_id, doc
    assert httpx.get(f"{base}/traces/{'0' * 32}", timeout=10).status_code == 404  # Jaeger holds no such trace
    assert httpx.get(f"{base}/traces/not-a-trace-id", timeout=10).status_code == 422
    try:
        driver = chromium()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        driver.get(f"{base}/")
        links = "return [...document.querySelectorAll('#traces tr[data-version=v1] a')].map(a => a.href).join(' ')"
        assert wait_until(lambda: f"{base}/trace/{trace_id}" in run(driver, links), 20, every_s=0.5), run(driver, links)
        assert text(driver, "#traces-head") == f"traces from Jaeger at {traced.jaeger}"
        driver.get(f"{base}/trace/{trace_id}")  # the page the link opens: the trace, drawn from Jaeger's spans
        assert wait_until(lambda: run(driver, "return document.body.dataset.loaded") == "yes", 20, every_s=0.2)
        rows = run(driver, "return [...document.querySelectorAll('#spans tbody tr')].map(r => [r.dataset.service, "
                           "r.cells[2].textContent, r.cells[4].textContent])")
        runtime = next(r for r in rows if r[0] == traced.runtime)
        assert "ml_canary.version=v1" in runtime[2] and "ml_canary.fault=latency" in runtime[2], rows
        assert float(runtime[1]) >= 300
        assert [r[0] for r in rows][:2] == ["gateway", "wine-v1"]  # oldest first: the gateway, then the sidecar
    finally:
        driver.quit()
