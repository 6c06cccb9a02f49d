"""Feedback reaches the version that answered: a route per model version to a subset of that version's pods.

How Istio picks a route (first match in order; a subset's labels select the pods) is
pilot/pkg/networking/core/route/route.go BuildHTTPRoutesForVirtualService, which keeps
the VirtualService's order; a subset is DestinationRule.subsets[].labels.
"""

from models.versions import VERSIONS
from servers.admin import VERSION_HEADER
from servers.feedback import FEEDBACK_PATH
from tests.k8s.support import by_kind


def _sends(route: dict, version: str) -> bool:
    """Whether one of the route's matches takes MLServer's feedback path with this version's header."""
    return any(m.get("uri", {}).get("exact") == FEEDBACK_PATH
               and m.get("headers", {}).get(VERSION_HEADER, {}).get("exact") == version
               for m in route.get("match") or [])


def check(docs: list[dict]) -> list[str]:
    """Every model version has a feedback route, before primary, to a subset selecting that version's pods."""
    vs, dr = by_kind(docs, "VirtualService").get("wine"), by_kind(docs, "DestinationRule").get("wine")
    if vs is None or dr is None:
        return []
    http = vs["spec"].get("http", [])
    names = [r.get("name") for r in http]
    subsets = {s["name"]: s.get("labels", {}) for s in dr["spec"].get("subsets", [])}
    problems = []
    for version in VERSIONS:
        ok = [i for i, r in enumerate(http) if _sends(r, version) and all(
            subsets.get(d["destination"].get("subset"), {}).get("version") == version for d in r.get("route", []))
            and r.get("route")]
        if not ok or ("primary" in names and ok[0] > names.index("primary")):
            problems.append(f"VirtualService wine: no route sends feedback for version {version} to its subset "
                            f"(a DestinationRule wine subset with labels version: {version}) before route primary")
    return problems
