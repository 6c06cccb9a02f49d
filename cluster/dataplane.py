"""The data plane behind the local control plane: pods Argo creates on the KWOK node served by real runtimes.

Each revision (``rollouts-pod-template-hash``) of Rollout wine's pods runs as one runtime process
of the local stack (its version, runtime and FAULT_* taken from the pod), however many pods it
has; a pod is Ready only once its revision's process answers (KWOK's pod-ready stage waits for
the ``ml-canary.io/serving`` annotation this sets). The local Envoy routes as the VirtualService
and DestinationRule Argo writes say, re-read on every tick; the AnalysisTemplates are pointed at
the stack's Prometheus and judge, which Argo's controller on this machine can reach.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from canary.local import stack_status
from canary.local.managed import StackError
from canary.local.settings import StackSettings
from canary.local.stack import Stack
from cluster import routes
from cluster.components import SERVING
from cluster.kube import Kube
from cluster.pods import Template, by_revision, steady, template_of

START_RETRY_S = 10.0  # a stack that failed to start is tried again this much later, not every tick


class DataPlane:
    """Reconciles the local stack with Rollout ``name``'s pods and routes, one tick at a time."""

    def __init__(self, kube: Kube, settings: StackSettings, name: str = "wine", emit: Callable[[str], None] = print):
        self.kube, self.settings, self.name, self.emit = kube, settings, name, emit
        self.stack: Stack | None = None
        self._said: set[str] = set()
        self._start_at, self._steady = 0.0, False

    def tick(self) -> None:
        """Observe the Rollout, its pods and routes; start, promote, stop and route runtimes to match."""
        rollout = self._get("rollouts", self.name, "make deploy")
        selector = ",".join(f"{k}={v}" for k, v in rollout["spec"]["selector"]["matchLabels"].items())
        pods = by_revision(self.kube.items("pods", selector))
        if self.stack is None and not self._start(rollout, pods):
            return
        assert self.stack is not None
        for line in stack_status.deaths(self.stack):
            self.emit(f"data plane: {line}")
        self._mark_serving(pods)  # first: a canary's start below takes seconds, and Argo counts stable's pods
        self._point_templates()
        self._converge(rollout, self._wanted(rollout), pods)
        self._mark_serving(pods)
        if not self._steady and steady(rollout, self._get("horizontalpodautoscalers", self.name, "make deploy")):
            self._steady = True
            self.emit(f"data plane: steady at {rollout['spec'].get('replicas', 1)} pods; ready for make rollout-v2")

    def _get(self, kind: str, name: str, fix: str) -> dict[str, Any]:
        found = self.kube.get(kind, name)
        if found is None:
            raise ValueError(f"no {kind} {self.kube.namespace}/{name} yet: {fix}")
        return found

    def _wanted(self, rollout: dict[str, Any]) -> routes.Routing:
        canary = rollout["spec"]["strategy"]["canary"]
        istio = canary["trafficRouting"]["istio"]
        vss = [(self._get("virtualservices", ref["name"], "make deploy"), ref.get("routes", []))
               for ref in routes.listed(istio)]
        dr = self._get("destinationrules", istio["destinationRule"]["name"], "make deploy")
        managed = [r["name"] for r in canary["trafficRouting"].get("managedRoutes", [])]
        return routes.read(vss, dr, managed,
                           istio["destinationRule"]["canarySubsetName"], istio["destinationRule"]["stableSubsetName"])

    def _start(self, rollout: dict[str, Any], pods: dict[str, list[dict[str, Any]]]) -> bool:
        """Start the stack once the stable revision has pods; True once it runs."""
        stable = rollout.get("status", {}).get("stableRS")
        if stable not in pods:
            self._say_once(f"data plane: waiting for Rollout {self.kube.namespace}/{self.name}'s stable pods")
            return False
        if time.monotonic() < self._start_at:
            return False
        template = self._template(pods[stable][0])
        settings = self.settings.model_copy(update={"stable_version": template.version, "stable_revision": stable})
        self._start_at = time.monotonic() + START_RETRY_S
        stack = Stack(settings, emit=self.emit)
        stack.up()  # all or nothing: a StackError leaves nothing running
        self.stack = stack
        self.emit(f"data plane: {template.version} (revision {stable}) is stable")
        return True

    def _template(self, pod: dict[str, Any]) -> Template:
        template = template_of(pod)
        if template.runtime != self.settings.runtime:
            raise StackError(f"pod {pod['metadata']['name']} runs {template.runtime}; this data plane serves "
                             f"{self.settings.runtime} (CANARY_RUNTIME)")
        return template

    def _revisions(self) -> dict[str, str | None]:
        """Role -> the revision the stack runs in it (stable, canary, previous)."""
        assert self.stack is not None
        return {m.role: m.revision for m in self.stack.procs.values() if m.version}

    def _converge(self, rollout: dict[str, Any], wanted: routes.Routing, pods: dict[str, list[dict[str, Any]]]) -> None:
        """Processes follow the pods, as a kubelet does; routes follow the Istio objects, as istiod does."""
        stack, status, running = self.stack, rollout.get("status", {}), self._revisions()
        assert stack is not None
        current, stable = status.get("currentPodHash"), status.get("stableRS")
        canary = current if current != stable and current in pods else None
        if running.get("canary") and running["canary"] in (wanted.stable, stable):
            stack.promote_canary()  # Argo made the canary's revision stable
            self.emit(f"data plane: revision {running['canary']} promoted to stable")
        elif running.get("canary") and running["canary"] != canary:
            stack.remove_canary()
            self.emit(f"data plane: canary revision {running['canary']} stopped (its pods are gone)")
        running = self._revisions()
        if running.get("previous") and (canary or stable != running["stable"]
                                        or running["previous"] not in (wanted.stable, wanted.canary)):
            previous = next(m.version for m in stack.procs.values() if m.role == "previous")
            assert previous is not None  # only a runtime takes the previous role, and a runtime has a version
            stack.retire(previous)
            self.emit(f"data plane: revision {running['previous']} stopped (no subset names it)")
        if stable != running["stable"] and stable in pods:
            self._add(stable, pods)  # a rollback or an undo: Argo made an older revision stable
            stack.promote_canary()
            self.emit(f"data plane: revision {stable} is stable again")
        elif canary and not stack.routing.canary:
            self._add(canary, pods)
        self._route(wanted)

    def _add(self, revision: str, pods: dict[str, list[dict[str, Any]]]) -> None:
        assert self.stack is not None
        template = self._template(pods[revision][0])
        if any(m.version == template.version for m in self.stack.procs.values()):
            raise StackError(f"revision {revision} runs model {template.version}, as stable does: the local gateway "
                             "routes feedback by model version, so two builds of one version cannot run side by side "
                             "here; roll out from another version (docs/kubernetes.md)")
        self.stack.add_canary(template.version, template.faults, revision)
        self.emit(f"data plane: {template.version} (revision {revision}) serving, faults {template.faults}")

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

    def _mark_serving(self, pods: dict[str, list[dict[str, Any]]]) -> None:
        """Annotate the pods whose revision's runtime runs: KWOK then makes them Ready."""
        served = set(self._revisions().values())
        for revision, group in pods.items():
            for pod in group:
                annotations = pod["metadata"].setdefault("annotations", {})
                if revision in served and SERVING not in annotations:
                    self.kube.patch("pods", pod["metadata"]["name"], {"metadata": {"annotations": {SERVING: "true"}}})
                    annotations[SERVING] = "true"

    def _point_templates(self) -> None:
        """The AnalysisTemplates' Prometheus and judge addresses: the stack's, which the host can reach."""
        local = {"prometheus-address": f"http://127.0.0.1:{self.settings.prometheus_port}",
                 "judge-address": f"http://127.0.0.1:{self.settings.judge_port}"}
        for template in self.kube.items("analysistemplates"):
            patch = [{"op": "add", "path": f"/spec/args/{i}/value", "value": local[a["name"]]}
                     for i, a in enumerate(template["spec"].get("args", []))
                     if a["name"] in local and a.get("value") != local[a["name"]]]
            if patch:
                self.kube.patch("analysistemplates", template["metadata"]["name"], patch)

    def run(self, stop: threading.Event, interval_s: float = 0.5) -> None:
        """Tick until ``stop``; a failure is said once (again if it comes back) and retried on the next tick."""
        try:
            while not stop.is_set():
                try:
                    self.tick()
                    if self.stack is not None:
                        self._said.clear()  # a failure that comes back is said again
                except httpx.HTTPStatusError as exc:
                    if exc.response.status_code == 401:
                        self.emit("data plane: the API server refuses its token (the control plane was restarted): "
                                  "start the data plane again")
                        return
                    self._say_once(f"data plane: {exc}")
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
