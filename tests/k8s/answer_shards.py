"""The runtimes' answers reach the judge replica that joins them: ANSWERS_URL names each StatefulSet pod.

A StatefulSet's pod k is ``<name>-k`` and resolves as ``<name>-k.<serviceName>.<namespace>.svc``
only through the headless Service its ``serviceName`` names (Kubernetes' StatefulSet docs, "Stable
Network ID"). The runtimes send shard k of the request ids to that address: shards beyond the
replicas are refused answers (the pairs lost), replicas beyond the shards join nothing. A pod's
name resolves to its own address, with no Service port in between: the URL's port is the pod's.
"""

import re

from tests.k8s.support import by_kind

URL = re.compile(r"http://(?P<set>[a-z0-9-]+)-\{shard\}\.(?P<service>[a-z0-9-]+)\.(?P<ns>[a-z0-9-]+)\.svc:(?P<port>\d+)/")


def _env(ro: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for c in ro["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}


def check(docs: list[dict]) -> list[str]:
    """Each Rollout's ANSWERS_URL and ANSWERS_SHARDS against the StatefulSet and headless Service they name."""
    problems, sets, services = [], by_kind(docs, "StatefulSet"), by_kind(docs, "Service")
    for name, ro in by_kind(docs, "Rollout").items():
        env = _env(ro)
        url, shards = env.get("ANSWERS_URL") or "", str(env.get("ANSWERS_SHARDS") or 1)
        if not shards.isdigit():
            problems.append(f"Rollout {name}: ANSWERS_SHARDS {shards} is not a number of judge replicas")
            continue
        found, shards = URL.match(url), int(shards)
        if shards == 1 and "{shard}" not in url:
            continue  # one judge behind one name: the Service references cover it
        if found is None:
            problems.append(f"Rollout {name}: ANSWERS_URL {url} does not name a StatefulSet pod per {{shard}}")
            continue
        sts = sets.get(found["set"])
        if sts is None:
            problems.append(f"Rollout {name}: ANSWERS_URL names StatefulSet {found['set']}, which does not exist")
            continue
        if sts["spec"].get("replicas", 1) != shards:
            problems.append(f"Rollout {name}: ANSWERS_SHARDS {shards}, but StatefulSet {found['set']} has "
                            f"{sts['spec'].get('replicas', 1)} replicas")
        problems += _service(name, found, sts, services.get(found["service"]), ro["metadata"].get("namespace"))
    return problems


def _container_ports(sts: dict) -> set[int]:
    return {p["containerPort"] for c in sts["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}


def _service(name: str, found: re.Match, sts: dict, svc: dict | None, namespace: str | None) -> list[str]:
    """The URL's service is the StatefulSet's headless serviceName, in the Rollout's namespace, on a port its pods
    listen on."""
    where = f"Rollout {name}: ANSWERS_URL's {found['service']}.{found['ns']}"
    if found["service"] != sts["spec"].get("serviceName"):
        return [f"{where} is not StatefulSet {found['set']}'s serviceName {sts['spec'].get('serviceName')}"]
    if svc is None or svc["spec"].get("clusterIP") != "None":
        return [f"{where}: no headless Service {found['service']} (clusterIP None) gives its pods names"]
    if namespace and found["ns"] != namespace:
        return [f"{where} is not the namespace {namespace}"]
    if int(found["port"]) not in _container_ports(sts):
        return [f"{where}: port {found['port']} is not a container port of StatefulSet {found['set']}"]
    return []
