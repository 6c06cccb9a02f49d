"""The Rollout, and the VirtualService routes as the real Argo controller wrote them."""

from tests.cluster.conftest import Cluster
from tests.waiting import wait_until


def rollout(cluster: Cluster) -> dict:
    """Rollout wine as Argo last wrote it."""
    return cluster.get("rollout", "wine")


def routes(cluster: Cluster) -> list[dict]:
    """VirtualService wine's http routes, in order."""
    return cluster.get("virtualservice", "wine")["spec"]["http"]


def weights(route: dict) -> dict[str, int]:
    """Subset -> weight of one route (Argo leaves out a weight of 0)."""
    return {d["destination"]["subset"]: d.get("weight", 0) for d in route["route"]}


def at_step(cluster: Cluster, index: int, timeout_s: float = 60) -> dict:
    """The rollout once Argo is at step ``index`` (and has not aborted)."""
    def reached():
        status = rollout(cluster)["status"]
        assert not status.get("abort"), status.get("message")
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
    return "\n".join(lines)
