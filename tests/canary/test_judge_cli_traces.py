"""What 'canary judge' says of a slow canary answer: a trace when the latency test failed, why none otherwise."""

from canary.cli import judge as cli_judge

FAILED = {"tests": [{"name": "errors", "verdict": "pass"}, {"name": "latency", "verdict": "fail"}], "at": 0.0,
          "seconds": 60.0, "latency_bound_ms": 20.0}


def test_nothing_is_named_while_the_latency_test_has_not_failed():
    passed = {**FAILED, "tests": [{"name": "latency", "verdict": "inconclusive"}]}
    assert cli_judge.slow_trace({"traces": "http://127.0.0.1:9", "canary": "v2", "model": "wine"}, passed) is None
    assert cli_judge._slow_line(passed) == []


def test_a_failed_latency_test_without_jaeger_says_why_there_is_no_trace():
    status = {"traces": None, "tracing_off": "tracing is off (CANARY_TRACING=off)", "canary": "v2", "model": "wine"}
    doc = {**FAILED, "slow_trace": cli_judge.slow_trace(status, FAILED)}
    assert cli_judge._slow_line(doc) == ["  no trace of a slow canary answer: tracing is off (CANARY_TRACING=off)"]


def test_a_named_trace_is_one_line_with_its_duration_and_link():
    doc = {**FAILED, "slow_trace": {"trace_id": "ab", "duration_ms": 312.04,
                                    "url": "http://127.0.0.1:16686/api/traces/ab"}}
    assert cli_judge._slow_line(doc) == ["  slowest canary answer: 312.0 ms, trace ab (the dashboard draws it at "
                                         "/trace/ab; Jaeger's API: http://127.0.0.1:16686/api/traces/ab)"]
