"""Reading back what Envoy loaded: the route configuration the stack writes, summarised as the controller compares it."""

from canary.local import envoy, gateway, mesh
from canary.rollout.interfaces import HeaderRoute, MirrorRoute
from tests.canary.conftest import ROOT

POLICY = mesh.read(ROOT / "k8s")


def summary(routing: envoy.Routing) -> dict:
    return gateway.summarise(envoy.routes(routing, POLICY))


def test_the_split_and_the_routes_argo_added_by_their_names():
    header = HeaderRoute.from_argo("canary-header", [{"headerName": "x-canary", "headerValue": {"exact": "always"}}])
    mirror = MirrorRoute.from_argo("mirror-route", 100, [{"method": {"exact": "POST"}}, {"path": {"prefix": "/v2"}}])
    doc = summary(envoy.Routing("v1", "v2", 10, [header], [mirror]))
    assert doc == {"weights": {"v1": 90, "v2": 10}, "header_routes": ["canary-header"],
                   "mirror_routes": ["mirror-route"]}  # feedback routes, which go to a version too, are not counted


def test_all_traffic_on_one_version_and_no_canary():
    assert summary(envoy.Routing("v2", "v3", 100))["weights"] == {"v3": 100}
    assert summary(envoy.Routing("v2")) == {"weights": {"v2": 100}, "header_routes": [], "mirror_routes": []}


def test_a_model_not_called_wine_names_the_gateways_clusters_and_is_read_back_alike():
    config = envoy.routes(envoy.Routing("v1", "v2", 10, model="cancer"), POLICY)
    primary = next(r for r in config["virtual_hosts"][0]["routes"] if r["name"] == "primary")
    assert [c["name"] for c in primary["route"]["weighted_clusters"]["clusters"]] == ["cancer-v1", "cancer-v2"]
    assert gateway.summarise(config)["weights"] == {"v1": 90, "v2": 10}
