"""The gateway's routing is derived from k8s/base, and rendered as Envoy wants it."""

import pytest

from canary.local import envoy, mesh, runtimes, sidecar
from tests.canary.conftest import ROOT


@pytest.fixture(scope="module")
def policy():
    return mesh.read(ROOT / "k8s")


def test_policy_comes_from_the_virtualservice_and_destinationrule(policy):
    assert policy.timeout == "5s"
    assert policy.retry == mesh.RetryPolicy(2, "2s", "connect-failure,refused-stream,reset")
    assert (policy.max_connections, policy.max_pending_requests, policy.max_requests) == (200, 200, 1000)
    assert policy.outlier["consecutive5xxErrors"] == 0


def test_cluster_carries_pool_limits_and_never_ejects_for_5xx(policy):
    c = envoy.cluster("v2", 8114, policy)
    assert c["name"] == "wine-v2" and "alt_stat_name" not in c  # the sidecar's stats carry the revision
    assert c["circuit_breakers"]["thresholds"][0] == {"max_connections": 200, "max_pending_requests": 200, "max_requests": 1000}
    assert c["outlier_detection"]["enforcing_consecutive_5xx"] == 0
    assert c["outlier_detection"]["enforcing_consecutive_gateway_failure"] == 100


@pytest.mark.parametrize("weight, expected", [(0, {"wine-v1": 100}), (10, {"wine-v1": 90, "wine-v2": 10}),
                                              (100, {"wine-v2": 100})])
def test_weights(policy, weight, expected):
    config = envoy.routes(envoy.Routing("v1", "v2", weight), policy)
    primary = config["virtual_hosts"][0]["routes"][-1]
    assert {c["name"]: c["weight"] for c in primary["route"]["weighted_clusters"]["clusters"]} == expected
    assert primary["route"]["timeout"] == "5.0s"
    assert primary["route"]["retry_policy"] == {"retry_on": "connect-failure,refused-stream,reset", "num_retries": 2,
                                                 "per_try_timeout": "2.0s"}


def test_header_routes_come_first_one_per_match(policy):
    header = envoy.HeaderRoute("canary-header", (("x-canary", "exact", "always"), ("x-user", "regex", "qa-.*")))
    routes = [r for r in envoy.routes(envoy.Routing("v1", "v2", 10, [header]), policy)["virtual_hosts"][0]["routes"]
              if not r["name"].startswith("feedback-")]
    assert [r["name"] for r in routes] == ["canary-header-0", "canary-header-1", "primary"]
    assert routes[0]["match"]["headers"] == [{"name": "x-canary", "string_match": {"exact": "always"}}]
    assert routes[1]["match"]["headers"] == [{"name": "x-user", "string_match": {"safe_regex": {"regex": "qa-.*"}}}]
    assert routes[0]["route"]["cluster"] == "wine-v2"


def test_no_canary_no_header_routes(policy):
    header = envoy.HeaderRoute("canary-header", (("x-canary", "exact", "always"),))
    routes = envoy.routes(envoy.Routing("v1", None, 0, [header]), policy)["virtual_hosts"][0]["routes"]
    assert [r["name"] for r in routes if not r["name"].startswith("feedback-")] == ["primary"]


def test_feedback_routes_by_the_answers_version_header_before_anything_else(policy):
    header = envoy.HeaderRoute("canary-header", (("x-canary", "exact", "always"),))
    routes = envoy.routes(envoy.Routing("v1", "v2", 10, [header]), policy)["virtual_hosts"][0]["routes"]
    assert [r["name"] for r in routes[:6]] == ["feedback-v1", "feedback-v2", "feedback-unrouted"] * 2
    assert routes[1]["match"] == {"path": "/ml-canary/v1/feedback",
                                  "headers": [{"name": "x-model-version", "string_match": {"exact": "v2"}}]}
    assert routes[1]["route"]["cluster"] == "wine-v2" and routes[3]["match"]["path"] == "/api/v1.0/feedback"
    assert routes[2]["direct_response"]["status"] == 400


def test_every_answer_names_its_version(policy):
    routes = envoy.routes(envoy.Routing("v1", "v2", 50), policy)["virtual_hosts"][0]["routes"]
    for cluster in routes[-1]["route"]["weighted_clusters"]["clusters"]:
        assert cluster["response_headers_to_add"][0]["header"] == {"key": "x-model-version", "value": cluster["name"][5:]}


def test_a_mirror_route_answers_as_primary_and_copies_its_share_to_the_canary():
    from canary.rollout.interfaces import MirrorRoute

    mirror = MirrorRoute.from_argo("mirror-route", 35, [{"method": {"exact": "POST"}, "path": {"prefix": "/v2"},
                                                         "headers": {"x-user": {"regex": "qa-.*"}}}, {}])
    routes = envoy.routes(envoy.Routing("v1", "v2", 10, [], [mirror]), mesh.read(ROOT / "k8s"))["virtual_hosts"][0]["routes"]
    routes = [r for r in routes if not r["name"].startswith("feedback-")]
    assert [r["name"] for r in routes] == ["mirror-route-0", "mirror-route-1", "primary"]
    first = routes[0]
    assert first["match"] == {"prefix": "/v2", "headers": [{"name": ":method", "string_match": {"exact": "POST"}},
                                                           {"name": "x-user", "string_match": {"safe_regex": {"regex": "qa-.*"}}}]}
    assert first["route"]["weighted_clusters"] == routes[-1]["route"]["weighted_clusters"]  # answered as primary is
    assert first["route"]["request_mirror_policies"] == [
        {"cluster": "wine-v2", "runtime_fraction": {"default_value": {"numerator": 35, "denominator": "HUNDRED"}}}]
    assert routes[1]["match"] == {"prefix": "/"}  # an empty entry matches every request


def test_a_mirror_route_refuses_what_envoy_cannot_match():
    import pytest

    from canary.rollout.interfaces import MirrorRoute

    with pytest.raises(ValueError, match="percentage 120"):
        MirrorRoute.from_argo("m", 120, [])
    with pytest.raises(ValueError, match="suffix is not one of exact, prefix, regex"):
        MirrorRoute.from_argo("m", 10, [{"path": {"suffix": "/infer"}}])


def test_a_faulty_build_of_a_version_is_another_revision():
    good = runtimes.revision("v2", "mlserver", {})
    assert good == runtimes.revision("v2", "mlserver", {}) and len(good) == 10
    assert good != runtimes.revision("v2", "mlserver", {"FAULT_ERROR_RATIO": "0.3"})
    assert good != runtimes.revision("v2", "seldon", {}) != runtimes.revision("v1", "seldon", {})


def test_each_runtime_is_reached_through_its_sidecar_which_counts_its_revisions_requests(policy):
    """The judge reads the sidecar's stats, as Istio's destination side: the request id must pass (answers are
    joined by it), a runtime too slow for the gateway's 2 s attempt gets the sidecar's 504 (its revision's), and
    the sidecar never sheds load itself."""
    boot = sidecar.bootstrap("v2", "5c4fbc9wxz", 8110, policy)
    hcm = boot["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["preserve_external_request_id"] is True
    route = hcm["route_config"]["virtual_hosts"][0]["routes"][0]["route"]
    assert route["timeout"] == "1.900s" and route["retry_policy"]["retry_on"] == "connect-failure,refused-stream,reset"
    (inbound,) = boot["static_resources"]["clusters"]
    assert inbound["alt_stat_name"] == "wine-v2-5c4fbc9wxz" and min(inbound["circuit_breakers"]["thresholds"][0].values()) > 10**9
    endpoint = inbound["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert endpoint["port_value"] == 8110 and boot["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] == 8114
    assert sidecar.target("v2", "5c4fbc9wxz", 8110) == {"target": "127.0.0.1:8115", "version": "v2", "revision": "5c4fbc9wxz",
                                                         "path": "/stats/prometheus", "reporter": "destination"}
