"""The routes Envoy has loaded, read back from its admin API: what the gateway does, not what was written for it.

The stack writes Envoy's route file and Envoy picks it up, or does not (a rejected file, an Envoy
restarted from an older file). The controller compares these with the state it saved.
"""

from typing import Any

import httpx

from canary import pooled
from canary.local import envoy


def loaded(admin_url: str, timeout_s: float = 0.5) -> dict[str, Any] | None:
    """The primary route's split and the header and mirror routes in Envoy's loaded route configuration; None
    when Envoy does not answer or has loaded none."""
    try:
        response = pooled.client().get(f"{admin_url}/config_dump", params={"resource": "dynamic_route_configs"},
                             timeout=timeout_s)
        response.raise_for_status()
        configs = response.json().get("configs", [])
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    loaded_ = next((c for c in configs if c.get("route_config", {}).get("name") == envoy.ROUTE_CONFIG), None)
    if loaded_ is None:
        return None
    return {**summarise(loaded_["route_config"]), "version": loaded_.get("version_info")}


def summarise(route_config: dict[str, Any]) -> dict[str, Any]:
    """The primary route's split by version, and the names of the routes Argo's steps added
    (canary.local.envoy.routes names each entry ``<route>-<i>``)."""
    weights: dict[str, int] = {}
    headers: set[str] = set()
    mirrors: set[str] = set()
    for host in route_config.get("virtual_hosts", []):
        prefix = envoy.cluster_name("", host.get("name", ""))  # the host is the model: canary.local.envoy.routes
        for entry in host.get("routes", []):
            name, action = entry.get("name", ""), entry.get("route", {})
            if name == "primary":
                for c in action.get("weighted_clusters", {}).get("clusters", []):
                    weights[c["name"].removeprefix(prefix)] = int(c.get("weight", 0))
            elif action.get("request_mirror_policies"):
                mirrors.add(name.rsplit("-", 1)[0])
            elif action.get("cluster") and not name.startswith("feedback-"):
                headers.add(name.rsplit("-", 1)[0])
    return {"weights": {v: w for v, w in sorted(weights.items()) if w}, "header_routes": sorted(headers),
            "mirror_routes": sorted(mirrors)}
