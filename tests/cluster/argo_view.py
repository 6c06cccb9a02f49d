"""The Rollout, and the VirtualService routes as the real Argo controller wrote them."""

from tests.cluster.conftest import Cluster
from tests.k8s import delegation
from tests.k8s.feedback_routes import route_taken
from tests.waiting import wait_until


def rollout(cluster: Cluster) -> dict:
    """Rollout wine as Argo last wrote it."""
    return cluster.get("rollout", "wine")


def routes(cluster: Cluster) -> list[dict]:
    """The http routes Argo rewrites, in order: those of each VirtualService the Rollout names, in its order."""
    return [r for ref in delegation.listed(rollout(cluster))
            for r in cluster.get("virtualservice", ref["name"])["spec"]["http"]]


def taken(cluster: Cluster, port: int, path: str, headers: dict[str, str]) -> dict:
    """The route a request in the mesh takes, once istiod merges the delegates into VirtualService wine."""
    merged = delegation.merged({vs["metadata"]["name"]: vs for vs in cluster.get("virtualservice")["items"]})
    return route_taken(merged["wine"]["spec"]["http"], ("mesh", port), path, headers) or {}


def weights(route: dict) -> dict[str, int]:
    """Subset -> weight of one route (Argo leaves out a weight of 0)."""
    return {d["destination"]["subset"]: d.get("weight", 0) for d in route["route"]}


def at_step(cluster: Cluster, index: int, timeout_s: float = 60) -> dict:
    """The rollout once Argo is at step ``index`` (and has not aborted)."""
    def reached():
        status = rollout(cluster)["status"]
        assert not status.get("abort"), f"{status.get('message')}\n{analyses(cluster)}"
        return status if status.get("currentStepIndex") == index else None
    return wait_until(reached, timeout_s, f"rollout wine at step {index}")


def analyses(cluster: Cluster) -> str:
    """Each AnalysisRun's metrics as Argo counted them, for a failure to say what Argo saw."""
    lines = []
    for run in cluster.get("analysisrun")["items"]:
        status = run.get("status", {})
        lines.append(f"{run['metadata']['name']}: {status.get('phase')} {status.get('message', '')}")
        for m in status.get("metricResults", []):
            last = (m.get("measurements") or [{}])[-1]
            lines.append(f"  {m['name']}: {m.get('phase')} count={m.get('count', 0)} errors={m.get('error', 0)} "
                         f"last={last.get('phase')} {last.get('value', '')} {last.get('message', '')}")
    said = cluster.judge_said()
    return "\n".join(lines + ([said] if said else []))
