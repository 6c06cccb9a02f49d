"""The data plane's reading of the VirtualService and DestinationRule, as the real Argo writes them
(the shapes tests/cluster/test_argo.py sees at each step of the shipped Rollout)."""

import pytest

from canary.rollout.interfaces import HeaderRoute, MirrorRoute
from cluster import routes
from cluster.pods import template_of

WEIGHTED, MANAGED = ["primary", "grpc"], ["canary-header", "mirror-route"]


def rule(stable: str, canary: str) -> dict:
    """DestinationRule wine with its subsets on two revisions."""
    return {"spec": {"subsets": [{"name": "stable", "labels": {"app": "wine", routes.HASH_LABEL: stable}},
                                 {"name": "canary", "labels": {"app": "wine", routes.HASH_LABEL: canary}}]}}


def split(canary: int) -> list[dict]:
    return [{"destination": {"host": "wine", "subset": "stable"}, "weight": 100 - canary},
            {"destination": {"host": "wine", "subset": "canary"}, **({"weight": canary} if canary else {})}]


def service(*extra: dict, canary: int = 0) -> dict:
    """VirtualService wine: Argo's managed routes first, then the Rollout's weighted routes."""
    http = [*extra, {"name": "primary", "route": split(canary)}, {"name": "grpc", "route": split(canary)}]
    return {"metadata": {"name": "wine"}, "spec": {"http": http}}


MIRROR = {"name": "mirror-route", "mirror": {"host": "wine", "subset": "canary"}, "mirrorPercentage": {"value": 50},
          "match": [{"method": {"exact": "POST"}, "uri": {"regex": "/v2/models/[^/]+/infer"}},
                    {"method": {"exact": "POST"}, "uri": {"exact": "/api/v1.0/predictions"}}],
          "route": split(0)}
HEADER = {"name": "canary-header", "match": [{"headers": {"x-canary": {"exact": "always"}}}],
          "route": [{"destination": {"host": "wine", "subset": "canary"}, "weight": 100}]}


def test_the_shadow_step_is_a_mirror_of_half_the_predictions_and_no_weight():
    got = routes.read([(service(MIRROR), WEIGHTED)], rule("aaa", "bbb"), MANAGED)
    assert (got.stable, got.canary, got.canary_weight, got.header_routes) == ("aaa", "bbb", 0, ())
    assert got.mirror_routes == (MirrorRoute("mirror-route", 50, (
        (("method", "exact", "POST"), ("path", "regex", "/v2/models/[^/]+/infer")),
        (("method", "exact", "POST"), ("path", "exact", "/api/v1.0/predictions")))),)


def test_a_weighted_step_with_the_header_route():
    got = routes.read([(service(HEADER, canary=10), WEIGHTED)], rule("aaa", "bbb"), MANAGED)
    assert got.canary_weight == 10 and got.mirror_routes == ()
    assert got.header_routes == (HeaderRoute("canary-header", (("x-canary", "exact", "always"),)),)


def test_the_shipped_delegates_each_carry_argos_routes_and_read_as_one_routing():
    def delegate(name, route, port, canary):
        ported = [{**d, "destination": {**d["destination"], "port": {"number": port}}} for d in split(canary)]
        header = {**HEADER, "route": [{"destination": {**HEADER["route"][0]["destination"], "port": {"number": port}}}]}
        return {"metadata": {"name": name}, "spec": {"http": [header, {"name": route, "route": ported}]}}
    both = [(delegate("wine-rest", "primary", 8080, 10), ["primary"]), (delegate("wine-grpc", "grpc", 8081, 10), ["grpc"])]
    got = routes.read(both, rule("aaa", "bbb"), MANAGED)
    assert (got.canary_weight, got.header_routes) == (10, (HeaderRoute("canary-header", (("x-canary", "exact", "always"),)),))
    both[1][0]["spec"]["http"][1]["route"] = split(50)
    with pytest.raises(ValueError, match="wine-grpc/grpc"):
        routes.read(both, rule("aaa", "bbb"), MANAGED)
    assert routes.listed({"virtualServices": [{"name": "wine-rest"}]}) == [{"name": "wine-rest"}]
    assert routes.listed({"virtualService": {"name": "wine"}}) == [{"name": "wine"}]


def test_no_canary_while_both_subsets_name_one_revision():
    got = routes.read([(service(), WEIGHTED)], rule("aaa", "aaa"), MANAGED)
    assert (got.stable, got.canary, got.canary_weight) == ("aaa", None, 0)


def test_what_one_gateway_cannot_do_is_refused_naming_it():
    uneven = service(canary=10)
    uneven["spec"]["http"][1]["route"] = split(20)
    with pytest.raises(ValueError, match="different canary weights"):
        routes.read([(uneven, WEIGHTED)], rule("aaa", "bbb"), MANAGED)
    with pytest.raises(ValueError, match="no route grpc"):
        routes.read([({"metadata": {"name": "wine"}, "spec": {"http": [{"name": "primary", "route": split(0)}]}},
                      WEIGHTED)], rule("aaa", "bbb"), MANAGED)
    by_path = {**HEADER, "match": [{"headers": {"x-canary": {"exact": "always"}}, "uri": {"prefix": "/v2"}}]}
    with pytest.raises(ValueError, match="canary-header: a header route matching on"):
        routes.read([(service(by_path), WEIGHTED)], rule("aaa", "bbb"), MANAGED)


def test_a_pods_template_gives_its_version_runtime_and_faults_only():
    pod = {"metadata": {"labels": {"version": "v2"}}, "spec": {"containers": [{
        "image": "registry.example/acme/ml-canary-seldon:0.1.0",
        "env": [{"name": "FAULT_ERROR_RATIO", "value": "1.0"}, {"name": "FAULT_STATE_FILE", "value": "/tmp/f.json"},
                {"name": "FAULT_ADMIN_TOKEN_FILE", "value": "/etc/x"}, {"name": "MODEL_VERSION", "valueFrom": {}}]}]}}
    got = template_of(pod)
    assert (got.version, got.runtime, got.faults) == ("v2", "seldon", {"FAULT_ERROR_RATIO": "1.0"})
