"""The data plane behind the local control plane: pods Argo creates on the KWOK node served by real runtimes.

Each revision (``rollouts-pod-template-hash``) of Rollout wine's pods runs as one runtime process
of the local stack (its version, runtime and FAULT_* taken from the pod), however many pods it
has; a pod is Ready only once its revision's process answers (KWOK's pod-ready stage waits for
the ``ml-canary.io/serving`` annotation this sets). The local Envoy routes as the VirtualService
and DestinationRule Argo writes say, re-read on every tick; the AnalysisTemplates are pointed at
the stack's Prometheus and judge, which Argo's controller on this machine can reach.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from canary.local.settings import StackSettings
from canary.local.stack import Stack, StackError
from cluster import routes
from cluster.components import SERVING
from cluster.kube import Kube
from servers.faults import env_name
from servers.settings import FaultFields

FAULT_VARIABLES = {env_name(f) for f in FaultFields.model_fields}


@dataclass(frozen=True)
class Template:
    """What a pod asks to run: a model version on a runtime, with faults."""

    version: str
    runtime: str
    faults: dict[str, str]


def template_of(pod: dict) -> Template:
    """The pod's model version (label ``version``), runtime (its image) and FAULT_* variables."""
    container = pod["spec"]["containers"][0]
    faults = {e["name"]: e["value"] for e in container.get("env", []) if e["name"] in FAULT_VARIABLES and "value" in e}
    return Template(pod["metadata"]["labels"]["version"], "seldon" if "seldon" in container["image"] else "mlserver",
                    faults)


def steady(rollout: dict, autoscaler: dict) -> bool:
    """Healthy, and every pod the HorizontalPodAutoscaler asked for available: it first acts a minute or so after
    a deploy (once it can read the Rollout's scale), and a rollout started before then meets its scale-up."""
    status, wanted = rollout.get("status", {}), rollout["spec"].get("replicas", 1)
    return status.get("phase") == "Healthy" and wanted >= autoscaler["spec"].get("minReplicas", 1) \
        and status.get("availableReplicas") == wanted


class DataPlane:
    """Reconciles the local stack with Rollout ``name``'s pods and routes, one tick at a time."""

    def __init__(self, kube: Kube, settings: StackSettings, name: str = "wine", emit: Callable[[str], None] = print):
        self.kube, self.settings, self.name, self.emit = kube, settings, name, emit
        self.stack: Stack | None = None
        self._said: set[str] = set()

    def tick(self) -> None:
        """Observe the Rollout, its pods and routes; start, promote, stop and route runtimes to match."""
        rollout = self.kube.get("rollouts", self.name)
        if rollout is None:
            return
        pods = self._pods(rollout)
        if self.stack is None and not self._start(rollout, pods):
            return
        self._point_templates()
        istio = rollout["spec"]["strategy"]["canary"]["trafficRouting"]["istio"]
        vs = self.kube.get("virtualservices", istio["virtualService"]["name"])
        dr = self.kube.get("destinationrules", istio["destinationRule"]["name"])
        managed = [r["name"] for r in rollout["spec"]["strategy"]["canary"]["trafficRouting"].get("managedRoutes", [])]
        wanted = routes.read(vs, dr, istio["virtualService"]["routes"], managed,
                             istio["destinationRule"]["canarySubsetName"], istio["destinationRule"]["stableSubsetName"])
        self._mark_serving(pods)  # first: a canary's start below takes seconds, and Argo counts stable's pods
        self._converge(rollout, wanted, pods)
        self._mark_serving(pods)

    def _pods(self, rollout: dict) -> dict[str, list[dict]]:
        """Revision -> its pods bound to a node and not being deleted."""
        selector = ",".join(f"{k}={v}" for k, v in rollout["spec"]["selector"]["matchLabels"].items())
        out: dict[str, list[dict]] = {}
        for pod in self.kube.items("pods", selector):
            if pod["spec"].get("nodeName") and not pod["metadata"].get("deletionTimestamp"):
                out.setdefault(pod["metadata"]["labels"].get(routes.HASH_LABEL, ""), []).append(pod)
        return out

    def _start(self, rollout: dict, pods: dict[str, list[dict]]) -> bool:
        """Start the stack once the stable revision has pods; True once it runs."""
        stable = rollout.get("status", {}).get("stableRS")
        if stable not in pods:
            return False
        template = self._template(pods[stable][0])
        settings = self.settings.model_copy(update={"stable_version": template.version, "stable_revision": stable})
        stack = Stack(settings, emit=self.emit)
        stack.up()
        self.stack = stack
        self.emit(f"data plane: {template.version} (revision {stable}) is stable")
        return True

    def _template(self, pod: dict) -> Template:
        template = template_of(pod)
        if template.runtime != self.settings.runtime:
            raise StackError(f"pod {pod['metadata']['name']} runs {template.runtime}; this data plane serves "
                             f"{self.settings.runtime} (CANARY_RUNTIME)")
        return template

    def _revisions(self) -> dict[str, str | None]:
        """Role -> the revision the stack runs in it (stable, canary, previous)."""
        assert self.stack is not None
        return {m.role: m.revision for m in self.stack.procs.values() if m.version}

    def _converge(self, rollout: dict, wanted: routes.Routing, pods: dict[str, list[dict]]) -> None:
        """Processes follow the pods, as a kubelet does; routes follow the Istio objects, as istiod does."""
        stack = self.stack
        assert stack is not None
        status, running = rollout.get("status", {}), self._revisions()
        current = status.get("currentPodHash")
        canary = current if current != status.get("stableRS") and current in pods else None
        if running.get("canary") and running["canary"] in (wanted.stable, status.get("stableRS")):
            stack.promote_canary()  # Argo made the canary's revision stable
            self.emit(f"data plane: revision {running['canary']} promoted to stable")
        elif running.get("canary") and running["canary"] != canary:
            stack.remove_canary()
            self.emit(f"data plane: canary revision {running['canary']} stopped (its pods are gone)")
        running = self._revisions()
        if running.get("previous") and running["previous"] not in (wanted.stable, wanted.canary):
            stack.retire(next(m.version for m in stack.procs.values() if m.role == "previous"))
            self.emit(f"data plane: revision {running['previous']} stopped (no subset names it)")
        if canary and not stack.routing.canary:
            template = self._template(pods[canary][0])
            stack.add_canary(template.version, template.faults, canary)
            self.emit(f"data plane: canary {template.version} (revision {canary}) serving, faults {template.faults}")
        self._route(wanted)

    def _route(self, wanted: routes.Routing) -> None:
        """Envoy's routes as Argo's. While the canary subset names another revision (Argo has not moved it
        yet), what it sends the canary subset goes to that revision's pods: here, no route to the canary."""
        stack = self.stack
        assert stack is not None
        if not stack.routing.canary:
            return
        if self._revisions().get("canary") != wanted.canary:
            wanted = routes.Routing(wanted.stable, None, 0)
        now = (stack.routing.canary_weight, tuple(stack.routing.header_routes), tuple(stack.routing.mirror_routes))
        if now != (wanted.canary_weight, wanted.header_routes, wanted.mirror_routes):
            stack.set_routing(wanted.canary_weight, list(wanted.header_routes), list(wanted.mirror_routes))
            self.emit(f"data plane: canary weight {wanted.canary_weight}, header routes "
                      f"{[h.name for h in wanted.header_routes]}, mirror routes "
                      f"{[(m.name, m.percentage) for m in wanted.mirror_routes]}")

    def _mark_serving(self, pods: dict[str, list[dict]]) -> None:
        """Annotate the pods whose revision's runtime runs: KWOK then makes them Ready."""
        served = set(self._revisions().values())
        for revision, group in pods.items():
            for pod in group:
                if revision in served and SERVING not in pod["metadata"].get("annotations", {}):
                    self.kube.patch("pods", pod["metadata"]["name"], {"metadata": {"annotations": {SERVING: "true"}}})

    def _point_templates(self) -> None:
        """The AnalysisTemplates' Prometheus and judge addresses: the stack's, which the host can reach."""
        local = {"prometheus-address": f"http://127.0.0.1:{self.settings.prometheus_port}",
                 "judge-address": f"http://127.0.0.1:{self.settings.judge_port}"}
        for template in self.kube.items("analysistemplates"):
            patch = [{"op": "replace", "path": f"/spec/args/{i}/value", "value": local[a["name"]]}
                     for i, a in enumerate(template["spec"].get("args", []))
                     if a["name"] in local and a.get("value") != local[a["name"]]]
            if patch:
                self.kube.patch("analysistemplates", template["metadata"]["name"], patch)

    def run(self, stop: threading.Event, interval_s: float = 0.5) -> None:
        """Tick until ``stop``; a failure is said once and retried on the next tick. The stack stops with it."""
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except (StackError, ValueError, OSError, KeyError, httpx.HTTPError) as exc:
                    self._say_once(f"data plane: {exc}")
                stop.wait(interval_s)
        finally:
            if self.stack is not None:
                self.stack.down()

    def _say_once(self, line: str) -> None:
        if line not in self._said:
            self._said.add(line)
            self.emit(line)
