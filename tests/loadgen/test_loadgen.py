"""The real CLI against real local HTTP servers."""

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from canary.local import procs
from tests.loadgen.conftest import ROOT

pytestmark = pytest.mark.integration
SUMMARY_FIELDS = {"target_rps", "achieved_rps", "requests", "success_ratio", "latency_ms", "late_sends", "by_version"}

def test_rate_is_kept_and_every_request_counted(stub, run_loadgen):
    url = stub()
    code, doc, stdout, stderr = run_loadgen("--target", url, "--rps", "200", "--duration", "5s")
    assert code == 0, stderr
    assert SUMMARY_FIELDS <= doc.keys()
    assert doc["requests"] == 1000  # 5 s at 200 rps on a fixed schedule, none lost
    assert doc["achieved_rps"] == pytest.approx(200, rel=0.01)
    assert doc["success_ratio"] == 1.0
    assert set(doc["latency_ms"]) == {"p50", "p90", "p99", "max"}
    assert "all" in stdout and "target 200.0 rps" in stdout
    assert "v1:" in stderr  # live progress

@pytest.mark.parametrize("flags", [[], ["--no-header"]], ids=["header", "body-only"])
def test_each_response_is_attributed_to_its_version(stub, run_loadgen, flags):
    url = stub("--versions", "v1:0.7,v2:0.3", "--seed", "5", *flags)
    code, doc, _, _ = run_loadgen("--target", url, "--rps", "200", "--duration", "4s", "--quiet")
    assert code == 0
    by = doc["by_version"]
    assert set(by) == {"v1", "v2"}
    assert by["v1"]["requests"] + by["v2"]["requests"] == doc["requests"] == 800
    assert by["v2"]["requests"] / 800 == pytest.approx(0.3, abs=0.05)
    per_version = {"requests", "achieved_rps", "success_ratio", "status_codes", "latency_ms", "service_time_ms",
                   "accuracy", "scored_rows", "feedback"}
    assert by["v1"].keys() == by["v2"].keys() == per_version


def test_loadgen_headers_from_the_environment_and_the_flag_that_replaces_them(stub, run_loadgen):
    url = stub("--versions", "v1:1", "--pin-header", "x-pin")
    flags = ("--target", url, "--rps", "50", "--duration", "1s", "--quiet")
    _, from_env, _, _ = run_loadgen(*flags, env={"LOADGEN_HEADERS": '["x-pin: v7"]'})
    assert set(from_env["by_version"]) == {"v7"}
    _, from_flag, _, _ = run_loadgen(*flags, "--header", "x-pin: v8", env={"LOADGEN_HEADERS": '["x-pin: v7"]'})
    assert set(from_flag["by_version"]) == {"v8"}
    _, without, _, _ = run_loadgen(*flags)
    assert set(without["by_version"]) == {"v1"}

def test_status_codes_are_accounted_and_fail_below_exits_1(stub, run_loadgen):
    url = stub("--error-ratio", "0.3", "--seed", "2")
    code, doc, _, stderr = run_loadgen("--target", url, "--rps", "200", "--duration", "3s", "--quiet", "--fail-below", "0.9")
    assert code == 1
    assert "below --fail-under 0.9" in stderr
    assert doc["status_codes"]["200"] + doc["status_codes"]["500"] == doc["requests"] == 600
    assert doc["success_ratio"] == pytest.approx(0.7, abs=0.06)

def test_a_one_second_stall_shows_in_the_percentiles(stub, run_loadgen):
    url = stub("--stall-at", "2", "--stall-for", "1")
    code, doc, _, _ = run_loadgen("--target", url, "--rps", "200", "--duration", "5s", "--quiet")
    assert code == 0
    assert doc["requests"] == 1000  # the stall did not lower the offered rate
    # About a fifth of the requests were sent into the stall and waited 0..1000 ms:
    # measured from the intended send time, p90 and p99 show it.
    assert doc["latency_ms"]["p90"] >= 400
    assert doc["latency_ms"]["p99"] >= 850
    assert doc["latency_ms"]["max"] >= 950
    assert doc["latency_ms"]["p50"] < 50

def test_timeouts_are_counted_as_failures(stub, run_loadgen):
    url = stub("--delay-ms", "500")
    code, doc, _, _ = run_loadgen("--target", url, "--rps", "20", "--duration", "2s", "--timeout", "100ms", "--quiet")
    assert code == 0
    assert doc["status_codes"] == {"timeout": 40}
    assert doc["success_ratio"] == 0.0

def test_the_in_flight_cap_is_reported(stub, run_loadgen):
    url = stub("--delay-ms", "1000")
    code, doc, stdout, _ = run_loadgen("--target", url, "--rps", "50", "--duration", "2s", "--max-in-flight", "5", "--quiet")
    assert code == 0
    assert doc["capped"] >= 80
    assert doc["status_codes"]["in_flight_cap"] == doc["capped"]
    assert "capped" in stdout

def test_a_target_where_nothing_listens_is_counted_said_and_exits_3(run_loadgen):
    port = procs.free_port()
    code, doc, _, stderr = run_loadgen("--target", f"http://127.0.0.1:{port}", "--rps", "20", "--duration", "1s",
                                       "--quiet")
    assert code == 3 and "loadgen: nothing answered at" in stderr
    assert doc["status_codes"] == {"connection_error": 20}  # the summary is still written

def test_ctrl_c_stops_cleanly_with_a_summary(stub, run_loadgen):
    url = stub()
    code, doc, stdout, stderr = run_loadgen("--target", url, "--rps", "100", interrupt_after_progress=2)
    assert code == 0
    assert doc["interrupted"] is True
    assert doc["requests"] >= 100  # two seconds of progress at 100 rps were seen
    assert doc["requests"] == doc["scheduled"]  # every request sent was waited for and counted
    assert doc["status_codes"] == {"200": doc["requests"]}
    assert "status codes" in stdout

def test_metrics_port_shows_what_users_saw(stub, run_loadgen, tmp_path):
    url = stub("--versions", "v2:1")
    port = procs.free_port()
    proc = procs.start(
        [sys.executable, "-m", "loadgen", "--target", url, "--rps", "50", "--duration", "6s", "--quiet", "--metrics-port", str(port)],
        tmp_path / "lg.log", cwd=ROOT,
    )
    try:
        procs.wait_http_ok(proc, f"http://127.0.0.1:{port}/metrics", timeout_s=20)
        deadline = time.monotonic() + 20
        while 'loadgen_requests_total{code="200"' not in (text := httpx.get(f"http://127.0.0.1:{port}/metrics").text):
            assert time.monotonic() < deadline, "no request counted after 20 s"
            time.sleep(0.1)
    finally:
        proc.stop()
    assert 'loadgen_requests_total{code="200",model_version="v2"}' in text
    assert "loadgen_request_latency_seconds_bucket" in text

@pytest.mark.parametrize(
    "flags, message",
    [
        (["--rps", "0"], "--rps must be above 0"),
        (["--duration", "soon"], "not a duration"),
        (["--header", "broken"], "Name: value"),
        (["--target", "localhost:8080"], "must be a base URL"),
        (["--shape", "steps"], "needs --steps"),
        (["--invalid-ratio", "2"], "outside 0..1"),
    ],
)
def test_bad_flags_exit_2_with_a_message(run_loadgen, flags, message):
    code, _, _, stderr = run_loadgen(*flags)
    assert code == 2
    assert message in stderr


def test_against_the_mlserver_runtime_with_invalid_payloads(start_mlserver, run_loadgen):
    server = start_mlserver("v2")
    code, doc, _, _ = run_loadgen(
        "--target", server.http, "--rps", "50", "--duration", "4s", "--invalid-ratio", "0.2", "--seed", "3", "--quiet"
    )
    assert code == 0
    assert doc["requests"] == 200
    assert doc["success_ratio"] == 1.0  # valid rows answered, malformed ones refused with a 4xx
    assert not [c for c in doc["status_codes"] if c.startswith("5")]
    assert doc["invalid_sent"] / doc["requests"] == pytest.approx(0.2, abs=0.08)
    assert doc["by_version"]["v2"]["requests"] == doc["requests"] - doc["invalid_sent"]


def test_environment_fallbacks_and_flags_winning(stub, tmp_path):
    url = stub()
    out = tmp_path / "env.json"
    env = {"LOADGEN_TARGET": url, "LOADGEN_RPS": "40", "LOADGEN_DURATION": "1s", "LOADGEN_QUIET": "true",
           "LOADGEN_JSON": str(out)}
    done = subprocess.run([sys.executable, "-m", "loadgen"], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["requests"] == 40
    done = subprocess.run([sys.executable, "-m", "loadgen", "--rps", "20"], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert json.loads(out.read_text())["requests"] == 20
    bad = subprocess.run([sys.executable, "-m", "loadgen"], env={**os.environ, "LOADGEN_RPS": "fast"}, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "LOADGEN_" in bad.stderr
