"""What the data plane reads off a pod and a Rollout: the runtime a pod asks for, and when v1 is steady."""

from dataclasses import dataclass
from typing import Any

from servers.faults import env_name
from servers.settings import FaultFields

FAULT_VARIABLES = {env_name(f) for f in FaultFields.model_fields}
HASH_LABEL = "rollouts-pod-template-hash"


@dataclass(frozen=True)
class Template:
    """What a pod asks to run: a model version on a runtime, with faults."""

    version: str
    runtime: str
    faults: dict[str, str]


def template_of(pod: dict[str, Any]) -> Template:
    """The pod's model version (label ``version``), runtime (its image's name) and FAULT_* variables."""
    container = pod["spec"]["containers"][0]
    faults = {e["name"]: e["value"] for e in container.get("env", []) if e["name"] in FAULT_VARIABLES and "value" in e}
    image = container["image"].rsplit("/", 1)[-1]
    runtime = "seldon" if image.startswith("ml-canary-seldon") else "mlserver"
    return Template(pod["metadata"]["labels"]["version"], runtime, faults)


def by_revision(pods: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Revision -> its pods bound to a node and not being deleted (what a kubelet would run)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        if pod["spec"].get("nodeName") and not pod["metadata"].get("deletionTimestamp"):
            out.setdefault(pod["metadata"]["labels"].get(HASH_LABEL, ""), []).append(pod)
    return out


def steady(rollout: dict[str, Any], autoscaler: dict[str, Any]) -> bool:
    """Healthy, and every pod the HorizontalPodAutoscaler asked for available.

    The autoscaler first acts a minute or so after a deploy (once it can read the Rollout's scale), and a
    rollout started before then meets its scale-up.
    """
    status, wanted = rollout.get("status", {}), rollout["spec"].get("replicas", 1)
    is_steady: bool = status.get("phase") == "Healthy" and wanted >= autoscaler["spec"].get("minReplicas", 1) \
        and status.get("availableReplicas") == wanted
    return is_steady
