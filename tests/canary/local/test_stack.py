"""A real 'canary up': Prometheus, Envoy and MLServer runtimes; no mocks. Each test sets up what it needs."""

import math
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from canary.local import procs
from canary.local.adapters import StackPlatform
from canary.local.client import StackClient
from tests.canary.conftest import ROOT, assert_reachable_from_this_machine_only, child_pids, start_stack
from tests.canary.local.support import loadgen, summary
from tests.fuzz import fuzz
from tests.waiting import wait_until

pytestmark = pytest.mark.integration
ROW = [13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]
BODY = {"inputs": [{"name": "features", "shape": [1, 13], "datatype": "FP64", "data": ROW}]}


@pytest.fixture(scope="module")
def harness(artifact_root, tmp_path_factory):
    from canary.local.harness import free_port_env

    env = {**free_port_env(), "CANARY_ARTIFACTS": str(artifact_root)}
    running = start_stack(tmp_path_factory.mktemp("stack") / "run", env)
    pids = child_pids(running)
    yield running
    assert running.stop_process("canary up", signal.SIGTERM) == 0
    assert not [p for p in pids if procs.alive(p)], "a process outlived 'canary up'"


@pytest.fixture
def stack(harness) -> StackClient:
    """The shared stack with only v1, all traffic on it, as every test starts."""
    client = StackClient(harness.run_dir)
    if client.status()["canary"]:
        client.remove_canary()
    return client


@pytest.fixture
def with_canary(stack) -> StackClient:
    """v2 running as the canary, with no traffic yet."""
    stack.add_canary("v2")
    return stack


def infer(harness, headers=None) -> httpx.Response:
    return httpx.post(f"{harness.gateway}/v2/models/wine/infer", json=BODY, headers=headers, timeout=10)


def canary_status(harness) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "canary", "status"], env=harness.env, cwd=ROOT,
                          capture_output=True, text=True)


def test_all_processes_are_up_and_healthy(harness, stack):
    status = stack.status()
    assert {p["name"] for p in status["processes"]} == {"prometheus", "judge", "envoy", "runtime-v1", "sidecar-v1"}
    assert all(p["healthy"] for p in status["processes"])
    assert status["traces"] is None and status["tracing_off"] == "tracing is off (CANARY_TRACING=off)"
    out = canary_status(harness)
    assert out.returncode == 0 and "runtime-v1" in out.stdout and "ready" in out.stdout
    assert out.stdout.splitlines()[1] == "tracing is off (CANARY_TRACING=off)"


def test_the_runtimes_answer_this_machine_only(harness, with_canary):
    # Inference, feedback, the fault switch's GET and the metrics have no token: off the network by default.
    for runtime in (p for p in with_canary.status()["processes"] if p["version"]):
        assert_reachable_from_this_machine_only(runtime["pid"])


def test_inference_through_the_gateway(harness, stack):
    response = infer(harness)
    assert response.status_code == 200
    assert response.headers["x-model-version"] == "v1"
    assert response.json()["outputs"][0]["data"] == ["class_0"]


def test_weights_90_10_and_the_header_route(harness, with_canary, tmp_path):
    header = [{"name": "canary-header", "match": [{"headerName": "x-canary", "headerValue": {"exact": "always"}}]}]
    with_canary.set_routing(10, header)
    loaded = wait_until(lambda: (r := with_canary.status()["gateway_routes"]) and r["weights"].get("v2") == 10 and r, 10,
                        "Envoy to load the routes")  # read back from Envoy's admin API
    assert (loaded["header_routes"], loaded["mirror_routes"]) == (["canary-header"], [])
    out = tmp_path / "lg.json"
    # 200 rps: at 400, with both cores also serving three other test workers' stacks, 11% of the requests
    # failed once; the split, not the machine's capacity, is what this test is about (in one fresh-clone run 1 of
    # the 1600 failed at 200). The next test pins zero errors at 200 rps while the weights change.
    doc = summary(loadgen(harness.gateway, "--rps", "200", "--duration", "8s", out=out), out)
    assert doc["requests"] == 1600 and doc["success_ratio"] >= 0.995, doc["status_codes"]
    share = doc["by_version"]["v2"]["requests"] / doc["requests"]
    # Binomial: p = 0.1, n = 1600, sd = 0.0075; 0.07..0.13 is four sd either side.
    assert 0.07 <= share <= 0.13
    assert {infer(harness, {"x-canary": "always"}).headers["x-model-version"] for _ in range(20)} == {"v2"}


def test_zero_errors_while_weights_flip_20_times_at_200_rps(harness, with_canary, tmp_path):
    out = tmp_path / "flip.json"
    proc = loadgen(harness.gateway, "--rps", "200", "--duration", "60s", out=out)
    start = harness.served()
    wait_until(lambda: harness.served() >= start + 200, 20, "the load generator's first second")
    for i in range(20):  # a flip every 100 requests served: about every half second at 200 rps
        with_canary.set_routing(50 if i % 2 == 0 else 10)
        mark = harness.served()
        wait_until(lambda: harness.served() >= mark + 100, 20, f"100 requests after flip {i + 1}")
    proc.send_signal(signal.SIGINT)  # the loadgen's Ctrl-C: it stops sending and writes its summary
    doc = summary(proc, out)
    assert doc["requests"] >= 2200
    assert doc["status_codes"] == {"200": doc["requests"]}, doc["status_codes"]
    assert set(doc["by_version"]) == {"v1", "v2"}


def test_a_mirror_route_copies_requests_to_the_canary_while_stable_answers(harness, with_canary):
    from tests.promtext import total

    v2_metrics = f"http://127.0.0.1:{harness.settings.canary_port + 2}/metrics"

    def v2_requests() -> float:
        return total(httpx.get(v2_metrics).text, "mlcanary_inference_requests_total", model_version="v2")

    def reloads() -> int:  # Envoy reads the route file on its own time: count its reloads
        return harness.envoy_stat(r"^http\.gateway\.rds\.primary\.config_reload$")

    mirror = {"name": "mirror-route", "percentage": 100, "match": [{"method": {"exact": "POST"}}]}
    seen = reloads()
    with_canary.set_routing(0, [], [mirror])
    wait_until(lambda: reloads() > seen, 10, "Envoy to load the mirror route")
    assert with_canary.status()["mirror_routes"] == with_canary.status()["gateway_routes"]["mirror_routes"] == ["mirror-route"]
    assert {infer(harness).headers["x-model-version"] for _ in range(20)} == {"v1"}  # users never see v2
    wait_until(lambda: v2_requests() >= 20, 10, "the 20 copies to reach v2")
    seen = reloads()
    with_canary.set_routing(0, [])
    wait_until(lambda: reloads() > seen, 10, "Envoy to drop the mirror route")
    before = v2_requests()
    assert {infer(harness).headers["x-model-version"] for _ in range(20)} == {"v1"}
    assert v2_requests() == before  # no mirror, no copies


def test_feedback_reaches_the_version_that_answered(harness, with_canary):
    from tests.promtext import total

    def feedback_counts() -> dict[str, float]:
        ports = {"v1": harness.settings.stable_port + 2, "v2": harness.settings.canary_port + 2}
        return {v: total(httpx.get(f"http://127.0.0.1:{p}/metrics").text, "mlcanary_feedback_total", model_version=v)
                for v, p in ports.items()}

    with_canary.set_routing(50)
    before, sent = feedback_counts(), {"v1": 0, "v2": 0}
    for _ in range(40):
        answer = infer(harness)
        version = answer.headers["x-model-version"]
        body = {"prediction": answer.json()["outputs"][0]["data"], "truth": ["class_0"]}
        response = httpx.post(f"{harness.gateway}/ml-canary/v1/feedback", json=body,
                              headers={"x-model-version": version}, timeout=10)
        assert response.status_code == 200 and response.json()["model_version"] == version, response.text
        sent[version] += 1
    after = feedback_counts()
    assert {v: after[v] - before[v] for v in sent} == sent and min(sent.values()) > 0
    unrouted = httpx.post(f"{harness.gateway}/ml-canary/v1/feedback", json=body, timeout=10)
    assert unrouted.status_code == 400 and "x-model-version" in unrouted.text
    assert feedback_counts() == after


def test_under_a_mirror_route_the_judge_joins_both_answers_to_each_request(harness, with_canary):
    """Envoy sends the copy with the original x-request-id: each request becomes one pair at the judge."""
    mirror = {"name": "mirror-route", "percentage": 100, "match": [{"method": {"exact": "POST"}}]}
    with_canary.set_routing(0, [], [mirror])
    wait_until(lambda: with_canary.status()["mirror_routes"] == ["mirror-route"], 10, "the mirror route")
    status = with_canary.status()
    params = {"canary": status["canary_revision"], "stable": status["stable_revision"], "weight": 0,
              "tests": "disagreement", "since": time.time()}  # not from the canary's birth: an earlier test's pairs

    def pairs() -> int:
        return httpx.get(f"{status['judge']}/v1/judge", params=params, timeout=5).json()["tests"][0]["canary"]["requests"]

    assert pairs() == 0  # the analysis starts here
    for _ in range(40):
        assert infer(harness).headers["x-model-version"] == "v1"
    wait_until(lambda: pairs() >= 40, 20, "both answers of 40 requests at the judge")
    doc = httpx.get(f"{status['judge']}/v1/judge", params=params, timeout=5).json()["tests"][0]
    assert doc["canary"]["requests"] == 40 and doc["canary"]["events"] == 0  # v1 and v2 agree on this row
    with_canary.set_routing(0, [])


def test_recording_rules_yield_per_version_series(harness, with_canary):
    with_canary.set_routing(50)

    def both():
        # Traffic on every look: a series whose first scrape already holds all its requests has no increase
        # in its window, and its rates stay NaN until more come.
        for _ in range(10):
            assert infer(harness).status_code == 200
        ratios = {r["metric"]["version"]: float(r["value"][1]) for r in harness.query("mlcanary:success_ratio:rate1m")}
        latency = {r["metric"]["version"]: float(r["value"][1]) for r in harness.query("mlcanary:latency_ms:p99_1m")}
        values = [*ratios.values(), *latency.values()]
        return (ratios, latency) if {"v1", "v2"} <= ratios.keys() & latency.keys() and not any(map(math.isnan, values)) \
            else None

    ratios, latency = wait_until(both, 30, "recording rules for v1 and v2")
    assert ratios["v1"] == 1.0 and ratios["v2"] == 1.0
    assert 0 < latency["v1"] < 1000 and 0 < latency["v2"] < 1000


def test_a_killed_runtime_is_reported(harness, with_canary):
    pid = next(p["pid"] for p in with_canary.status()["processes"] if p["name"] == "runtime-v2")
    harness_log = harness.run_dir / "up.log"
    os.kill(pid, signal.SIGKILL)
    runtime = wait_until(lambda: next((p for p in with_canary.status()["processes"]
                                       if p["name"] == "runtime-v2" and p["state"] != "running"), None), 10, "the death")
    assert runtime["state"] == "exited (-9)" and not runtime["healthy"]
    seen = StackPlatform(with_canary).observe()  # what the controller reads back: the canary is not running
    assert (seen.canary, "v2" in seen.running, "v1" in seen.running) == ("v2", False, True)
    out = canary_status(harness)
    assert out.returncode == 1 and "NOT READY" in out.stdout
    wait_until(lambda: "runtime-v2" in harness_log.read_text() and "exited with code -9" in harness_log.read_text(),
               10, "the supervisor's warning")
    with_canary.remove_canary()
    assert infer(harness).status_code == 200


def test_a_runtime_too_slow_for_the_gateway_is_charged_the_timeout_under_its_revision(harness, stack):
    """Its sidecar gives up just before the gateway's 2 s attempt: the 504 is the revision's, where the judge
    counts errors (one the gateway answered itself would reach no revision)."""
    stack.add_canary("v2", {"FAULT_LATENCY_MS": "2500"})
    stack.set_routing(0, [{"name": "tester", "match": [{"headerName": "x-canary", "headerValue": {"exact": "always"}}]}])
    slow = infer(harness, {"x-canary": "always"})
    assert (slow.status_code, slow.headers["x-model-version"]) == (504, "v2")
    revision = stack.status()["canary_revision"]
    query = f'envoy_cluster_upstream_rq_xx{{revision="{revision}",envoy_response_code_class="5"}}'
    wait_until(lambda: sum(float(s["value"][1]) for s in harness.query(query)) == 1, 30, "the 504 under v2's revision")
    stack.remove_canary()


def test_canary_down_stops_everything(stack_env, tmp_path):
    running = start_stack(tmp_path / "run", stack_env)
    StackClient(running.run_dir).add_canary("v2")
    pids = child_pids(running)
    out = subprocess.run([sys.executable, "-m", "canary", "down"], env=running.env, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert running.stop_process("canary up") == 0  # it had exited by itself
    assert not [p for p in pids if procs.alive(p)]
    assert not (tmp_path / "run" / "stack.json").exists()


def test_a_killed_supervisor_takes_its_children_along(stack_env, tmp_path):
    running = start_stack(tmp_path / "run", stack_env)
    pids = child_pids(running)
    running.stop_process("canary up", signal.SIGKILL)
    wait_until(lambda: not [p for p in pids if procs.alive(p)], 20, "the children to die with the supervisor")


def test_the_seldon_runtime_behind_the_same_gateway(stack_env, tmp_path):
    seldon = ROOT / ".venv-seldon" / "bin" / "seldon-core-microservice"
    if not seldon.exists():
        pytest.fail(f"{seldon} is missing: 'make test' builds .venv-seldon first")
    running = start_stack(tmp_path / "run", stack_env, runtime="seldon")  # the default CANARY_SELDON_BIN
    try:
        client = StackClient(running.run_dir)
        client.add_canary("v2")
        client.set_routing(50)
        out = tmp_path / "lg.json"
        doc = summary(loadgen(running.gateway, "--protocol", "seldon", "--rps", "100", "--duration", "3s", out=out), out)
        assert doc["success_ratio"] == 1.0
        assert set(doc["by_version"]) == {"v1", "v2"}
        for runtime in (p for p in client.status()["processes"] if p["version"]):  # REST, gRPC, metrics, faults
            assert_reachable_from_this_machine_only(runtime["pid"])
    finally:
        pids = child_pids(running)
        assert running.stop_process("canary up", signal.SIGTERM) == 0
    assert not [p for p in pids if procs.alive(p)]


def test_canary_judge_without_a_canary_says_how_to_start_one(harness, stack):
    out = subprocess.run([sys.executable, "-m", "canary", "judge"], env=harness.env, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 1 and out.stderr.strip() == "canary judge: no canary runs; start one with 'canary rollout VERSION'"


def test_each_runtime_is_a_revision_and_its_series_carry_it(harness, with_canary):
    status = with_canary.status()
    revisions = {p["version"]: p["revision"] for p in status["processes"] if p["version"]}
    assert revisions == {"v1": status["stable_revision"], "v2": status["canary_revision"]}
    assert len(set(revisions.values())) == 2 and all(len(r) == 10 for r in revisions.values())
    with_canary.set_routing(100, [])
    for _ in range(5):
        assert infer(harness).status_code == 200
    wait_until(lambda: harness.query(f'envoy_cluster_upstream_rq_xx{{revision="{status["canary_revision"]}"}}'), 30,
               "Prometheus to label the canary's Envoy stats with its revision")
    series = harness.query(f'envoy_cluster_upstream_rq_xx{{revision="{status["canary_revision"]}"}}')
    assert {(s["metric"]["version"], s["metric"]["reporter"]) for s in series} == {("v2", "destination")}


def stack_state(client: StackClient):
    """What a refused change must leave alone: the routing, and which processes run which version."""
    def read():
        doc = client.status()
        return ({k: doc[k] for k in ("stable", "canary", "canary_weight", "header_routes", "mirror_routes")},
                sorted((p["name"], p["pid"], p["revision"]) for p in doc["processes"]))
    return read


def test_the_stack_api_and_the_judge_fuzzed_from_their_openapi(harness, stack):
    # Last in this module: the token's changes (routes, a canary) are undone at the end.
    state = stack_state(stack)
    # Few examples: each reads the stack's status twice, and that asks every process whether it is ready.
    assert fuzz(stack.state["api"], state=state, examples=8) > 60  # no token: every change refused
    made = fuzz(stack.state["api"], headers={"Authorization": f"Bearer {stack.state['token']}"}, state=state,
                skip=("POST /shutdown",), examples=8)
    assert made > 40 and stack.status()["processes"][0]["state"] == "running"
    judge = stack.status()["judge"]
    analyses = lambda: httpx.get(f"{judge}/v1/analyses", timeout=10).json()  # noqa: E731 - what a refusal leaves
    assert fuzz(judge, state=analyses, examples=15) > 80  # POST /v1/answers without the runtimes' token: refused
    if stack.status()["canary"]:
        stack.remove_canary()
    stack.set_routing(0, [])
