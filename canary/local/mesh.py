"""What Envoy takes from the Istio objects in k8s/base: the same routing on one machine.

Read from VirtualService wine's ``rest`` route (the root route whose delegate carries the
weights, and whose timeout and retries istiod gives every route of that delegate, Argo's header
and mirror routes included) and the DestinationRule's traffic policy: timeout, retries,
connection-pool limits, outlier detection. Weights and header routes are the rollout's to set,
not the files'.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REST_ROUTE = "rest"


@dataclass(frozen=True)
class RetryPolicy:
    """The REST predictions' retries."""

    attempts: int
    per_try_timeout: str
    retry_on: str


@dataclass(frozen=True)
class MeshPolicy:
    """The subset of Istio's semantics Envoy shares, as read from the manifests."""

    timeout: str = "15s"
    retry: RetryPolicy | None = None
    max_connections: int | None = None
    max_pending_requests: int | None = None
    max_requests: int | None = None
    connect_timeout: str = "5s"
    outlier: dict[str, Any] | None = None


def _load(path: Path, kind: str) -> dict[str, Any]:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc.get("kind") == kind:
            found: dict[str, Any] = doc  # a YAML mapping: it has a kind
            return found
    raise ValueError(f"{path} holds no {kind}")


def read(k8s_dir: Path) -> MeshPolicy:
    """Read k8s/base/virtualservice.yaml and destinationrule.yaml."""
    base = Path(k8s_dir) / "base"
    vs = _load(base / "virtualservice.yaml", "VirtualService")
    dr = _load(base / "destinationrule.yaml", "DestinationRule")
    rest = next((r for r in vs["spec"]["http"] if r.get("name") == REST_ROUTE), None)
    if rest is None:
        raise ValueError(f"VirtualService {vs['metadata']['name']} has no http route named {REST_ROUTE}")
    retries = rest.get("retries")
    policy = dr["spec"].get("trafficPolicy", {})
    pool = policy.get("connectionPool", {})
    return MeshPolicy(
        timeout=rest.get("timeout", "15s"),
        retry=RetryPolicy(retries["attempts"], retries.get("perTryTimeout", rest.get("timeout", "15s")),
                          retries.get("retryOn",
                                      "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"))
        if retries and retries.get("attempts") else None,
        max_connections=pool.get("tcp", {}).get("maxConnections"),
        connect_timeout=pool.get("tcp", {}).get("connectTimeout", "5s"),
        max_pending_requests=pool.get("http", {}).get("http1MaxPendingRequests"),
        max_requests=pool.get("http", {}).get("http2MaxRequests"),
        outlier=policy.get("outlierDetection"),
    )
