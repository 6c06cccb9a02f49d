"""Tracing's settings on one machine: when Jaeger runs, on which ports, and what each Envoy and runtime is told."""

import socket

from canary.local import envoy, sidecar, tracing
from canary.local.mesh import MeshPolicy
from canary.local.preflight import preflight
from canary.local.settings import StackSettings
from servers import tracing as runtime_tracing
from servers.faults import FaultDecision
from servers.predictor import Call


def test_without_a_jaeger_binary_the_stack_runs_untraced_and_says_how_to_get_one(tmp_path):
    missing = StackSettings(jaeger_bin=str(tmp_path / "jaeger"), tracing="auto")
    assert tracing.off_reason(missing) == (f"tracing is off: no Jaeger at {tmp_path / 'jaeger'} "
                                           "('make tracing-tools' builds it)")
    assert not [p for p in preflight(missing) if "Jaeger" in p]  # auto: no reason to refuse
    refused = [p for p in preflight(missing.model_copy(update={"tracing": "on"})) if "Jaeger" in p]
    assert refused == [f"CANARY_TRACING=on but there is no Jaeger at {tmp_path / 'jaeger'} "
                       "('make tracing-tools' builds it)"]
    assert tracing.off_reason(StackSettings(tracing="off")) == "tracing is off (CANARY_TRACING=off)"


def test_a_present_jaeger_is_used_and_its_ports_are_checked(tmp_path):
    binary = tmp_path / "jaeger"
    binary.write_text("")
    s = StackSettings(jaeger_bin=str(binary), tracing="auto", tracing_port=28200, judge_port=28203)
    assert tracing.off_reason(s) is None and tracing.binary(s) == str(binary)
    assert [p for p in preflight(s) if "is claimed by" in p] == [
        "port 28203 is claimed by CANARY_JUDGE_PORT and CANARY_TRACING_PORT: Jaeger takes 4 ports from "
        "CANARY_TRACING_PORT"]


def test_jaeger_listens_on_this_machine_only_on_its_four_ports_and_keeps_traces_in_memory():
    config = tracing.config(StackSettings(tracing_port=28300))
    assert config["extensions"]["jaeger_query"]["http"] == {"endpoint": "127.0.0.1:28300"}
    assert config["extensions"]["jaeger_query"]["grpc"] == {"endpoint": "127.0.0.1:28301"}
    assert config["receivers"]["otlp"]["protocols"] == {"grpc": {"endpoint": "127.0.0.1:28302"},
                                                         "http": {"endpoint": "127.0.0.1:28303"}}
    assert config["service"]["telemetry"]["metrics"] == {"level": "none"}  # no fixed 8888 of its own
    assert config["extensions"]["jaeger_query"]["enable_tracing"] is False  # nor traces of itself to :4317
    assert config["extensions"]["jaeger_storage"]["backends"]["memory"]["memory"]["max_traces"] == tracing.MAX_TRACES
    assert tracing.runtime_env(StackSettings(tracing_port=28300), "v2") == {
        "MLSERVER_TRACING_SERVER": "127.0.0.1:28302",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:28303/v1/traces",
        "OTEL_TRACES_SAMPLER": "parentbased_always_off"}


def test_every_envoy_samples_at_the_setting_and_the_sidecar_tags_its_version_and_revision(tmp_path):
    s = StackSettings(tracing_port=28300, trace_sampling=25)
    traced = tracing.envoy(s, "wine-v2", {"version": "v2", "revision": "abc"})
    boot = sidecar.bootstrap("v2", "abc", 28110, MeshPolicy(), "wine", traced)
    hcm = boot["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["tracing"]["random_sampling"] == {"value": 25}
    assert hcm["tracing"]["provider"]["typed_config"]["service_name"] == "wine-v2"
    assert {t["tag"]: t["literal"]["value"] for t in hcm["tracing"]["custom_tags"]} == {"version": "v2",
                                                                                       "revision": "abc"}
    otlp = next(c for c in boot["static_resources"]["clusters"] if c["name"] == tracing.OTLP_CLUSTER)
    assert otlp["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"] == {
        "address": "127.0.0.1", "port_value": 28302}
    gateway = envoy.bootstrap(8000, 9901, tmp_path / "cds.json", tmp_path / "rds.json")
    assert "tracing" not in str(gateway) and "clusters" not in gateway["static_resources"]  # untraced: as before


def test_the_runtime_span_names_the_faults_that_changed_the_call():
    slow_wrong = Call(0.0, FaultDecision(delay_s=0.3, wrong=True))
    assert runtime_tracing.attributes("v2", "abc", slow_wrong, "ok") == {
        "ml_canary.version": "v2", "ml_canary.revision": "abc", "ml_canary.outcome": "ok",
        "ml_canary.fault": "latency,wrong_prediction", "ml_canary.injected_delay_ms": 300.0}
    failed = runtime_tracing.attributes("v2", "abc", Call(0.0, FaultDecision(fail=True, wrong=True)), "injected_error")
    assert failed["ml_canary.fault"] == "error"  # no answer, so no wrong one
    refused = runtime_tracing.attributes("v2", "abc", Call(0.0, FaultDecision(fail=True, delay_s=1)), "invalid_input")
    assert refused["ml_canary.fault"] == "none" and "ml_canary.injected_delay_ms" not in refused


def test_a_taken_jaeger_port_turns_tracing_off_under_auto_and_refuses_the_stack_under_on(tmp_path):
    binary = tmp_path / "jaeger"
    binary.write_text("")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1] - 2  # the OTLP gRPC port of this block
        auto = StackSettings(jaeger_bin=str(binary), tracing="auto", tracing_port=port)
        reason = tracing.off_reason(auto)
        assert reason and reason.startswith(f"tracing is off: port {port + 2} (jaeger port {port + 2}) is in use")
        assert not [p for p in preflight(auto) if f"port {port + 2}" in p]  # the stack itself starts
        on = auto.model_copy(update={"tracing": "on"})
        assert tracing.off_reason(on) is None
        assert [p for p in preflight(on) if f"port {port + 2} (jaeger port {port + 2}) is in use" in p]
