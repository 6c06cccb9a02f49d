"""The few API calls the data plane makes, over HTTP with the local control plane's admin token.

A hand-written client because the data plane needs four verbs on five kinds, and the official
``kubernetes`` package would add a large dependency (and its own kubeconfig loader) for that.
"""

import json
from pathlib import Path
from typing import Any

import httpx

PATHS = {
    "pods": "/api/v1/namespaces/{ns}/pods",
    "rollouts": "/apis/argoproj.io/v1alpha1/namespaces/{ns}/rollouts",
    "analysistemplates": "/apis/argoproj.io/v1alpha1/namespaces/{ns}/analysistemplates",
    "virtualservices": "/apis/networking.istio.io/v1/namespaces/{ns}/virtualservices",
    "destinationrules": "/apis/networking.istio.io/v1/namespaces/{ns}/destinationrules",
    "horizontalpodautoscalers": "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers",
}


class Kube:
    """One namespace of the API server a kubeconfig written by ``cluster up`` points at."""

    def __init__(self, kubeconfig: Path, namespace: str) -> None:
        config = json.loads(Path(kubeconfig).read_text())
        server = config["clusters"][0]["cluster"]["server"]
        token = config["users"][0]["user"]["token"]
        # Self-signed serving certificate on loopback (cluster/controlplane.py writes the kubeconfig).
        self.http = httpx.Client(base_url=server, verify=False, timeout=10,
                                 headers={"Authorization": f"Bearer {token}"})
        self.namespace = namespace

    def _path(self, kind: str, name: str | None = None) -> str:
        return PATHS[kind].format(ns=self.namespace) + (f"/{name}" if name else "")

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        """One object, or None when it does not exist."""
        answer = self.http.get(self._path(kind, name))
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()  # a Kubernetes object
        return found

    def items(self, kind: str, selector: str = "") -> list[dict[str, Any]]:
        """The objects of a kind, optionally by label selector."""
        answer = self.http.get(self._path(kind), params={"labelSelector": selector} if selector else None)
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()["items"]  # a Kubernetes list's objects
        return found

    def patch(self, kind: str, name: str, patch: list[dict[str, Any]] | dict[str, Any]) -> None:
        """A JSON patch (a list) or a merge patch (a dict)."""
        kind_of = "application/json-patch+json" if isinstance(patch, list) else "application/merge-patch+json"
        self.http.patch(self._path(kind, name), content=json.dumps(patch),
                        headers={"Content-Type": kind_of}).raise_for_status()

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()
