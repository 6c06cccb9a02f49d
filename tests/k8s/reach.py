"""Who can reach what on a cluster: NetworkPolicies, PeerAuthentications and AuthorizationPolicies together.

Each layer is evaluated as the component that enforces it would:
- NetworkPolicy (kubernetes.io, "Network Policies"): a pod selected by a policy of a
  direction admits only what some rule of it allows; named ports resolve against the
  destination pod's container ports.
- PeerAuthentication (istio security/v1, precedence workload > namespace > mesh,
  port-level over workload-level): STRICT refuses plain text.
- AuthorizationPolicy: DENY first, then if any ALLOW policy selects the workload a
  request must match one of its rules; principals exist only for mutual TLS peers.
  Paths match as pilot/pkg/security/authz/matcher/string.go, StringMatcherWithPrefix; a
  `when` on request.headers[NAME] as matcher/header.go, HeaderMatcher ("*" is presence).
- The sidecar does not intercept 15020, 15021 and 15090 (cni/pkg/plugin/sidecar_redirect.go,
  excludeInboundPorts): there only NetworkPolicy applies.
Hand-written: no library evaluates these policies offline together.
"""

import re
from dataclasses import dataclass, field

NAMESPACE = "ml-canary"
NOT_INTERCEPTED = {15020, 15021, 15090}
INJECTED = {"http-envoy-prom": 15090}  # the istio-proxy container's port (injection template)


@dataclass(frozen=True)
class Peer:
    """One end of a call: where it runs, its pod labels, its mesh identity (None: plain text)."""

    namespace: str
    labels: dict = field(hash=False)
    principal: str | None = None
    ports: dict = field(default_factory=dict, hash=False)  # container port name -> number


def _selects(selector: dict | None, labels: dict) -> bool:
    """A label selector (matchLabels; an empty selector selects everything)."""
    return all(labels.get(k) == v for k, v in (selector or {}).get("matchLabels", {}).items())


def _peer_matches(entry: dict, peer: Peer, policy_ns: str) -> bool:
    """One NetworkPolicy from/to entry: namespaceSelector and podSelector are ANDed."""
    if "ipBlock" in entry:
        return False  # the peers here are pods
    ns_ok = (_selects(entry["namespaceSelector"], {"kubernetes.io/metadata.name": peer.namespace})
             if "namespaceSelector" in entry else peer.namespace == policy_ns)
    return ns_ok and _selects(entry.get("podSelector"), peer.labels)


def _port_matches(rule_ports: list | None, port: int, protocol: str, dst: Peer) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        number = dst.ports.get(p["port"]) if isinstance(p.get("port"), str) else p.get("port")
        if p.get("protocol", "TCP") == protocol and (p.get("port") is None or number == port):
            return True
    return False


def network_allows(docs: list[dict], src: Peer, dst: Peer, port: int, protocol: str = "TCP") -> bool:
    """Both directions: the destination's ingress policies and the source's egress policies."""
    for direction, subject, other, key in (("Ingress", dst, src, "from"), ("Egress", src, dst, "to")):
        policies = [d for d in docs if d["kind"] == "NetworkPolicy" and subject.namespace == NAMESPACE
                    and direction in d["spec"].get("policyTypes", ["Ingress"])
                    and _selects(d["spec"].get("podSelector"), subject.labels)]
        if policies and not any(
                (not rule.get(key) or any(_peer_matches(e, other, NAMESPACE) for e in rule[key]))
                and _port_matches(rule.get("ports"), port, protocol, dst)
                for p in policies for rule in p["spec"].get(direction.lower(), [])):
            return False
    return True


def mtls_mode(docs: list[dict], dst: Peer, port: int) -> str:
    """STRICT, PERMISSIVE or DISABLE for a port of a workload; mesh default PERMISSIVE."""
    policies = [d["spec"] for d in docs if d["kind"] == "PeerAuthentication"]
    workload = [p for p in policies if p.get("selector") and _selects(p["selector"], dst.labels)]
    namespace = [p for p in policies if not p.get("selector")]
    for policy in workload:
        mode = policy.get("portLevelMtls", {}).get(str(port), {}).get("mode")
        if mode and mode != "UNSET":
            return mode
    for policy in workload + namespace:
        mode = policy.get("mtls", {}).get("mode")
        if mode and mode != "UNSET":
            return mode
    return "PERMISSIVE"


def path_matches(pattern: str, path: str) -> bool:
    """StringMatcherWithPrefix: "*" any, "*x" suffix, "x*" prefix, else exact."""
    if pattern == "*":
        return bool(path)
    if pattern.startswith("*"):
        return path.endswith(pattern[1:])
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return path == pattern


def header_matches(pattern: str, value: str | None) -> bool:
    """HeaderMatcher: "*" present (even empty), "*x" suffix, "x*" prefix, else exact; an absent header never."""
    return value is not None and (pattern == "*" or path_matches(pattern, value))


def _when_ok(conditions: list[dict], headers: dict[str, str]) -> bool:
    """Every condition holds; a key other than request.headers[...] is not modelled and says so."""
    for c in conditions:
        name = re.fullmatch(r"request\.headers\[(.+)\]", c["key"])
        if not name:
            raise NotImplementedError(f"AuthorizationPolicy when key {c['key']} is not modelled here")
        value = headers.get(name.group(1).lower())
        if "values" in c and not any(header_matches(v, value) for v in c["values"]):
            return False
        if any(header_matches(v, value) for v in c.get("notValues", [])):
            return False
    return True


def _rule_matches(rule: dict, src: Peer, port: int, method: str, path: str, headers: dict[str, str]) -> bool:
    def source_ok(s):
        if "principals" in s and (src.principal is None or not any(path_matches(p, src.principal) for p in s["principals"])):
            return False
        return "namespaces" not in s or (src.principal is not None and src.namespace in s["namespaces"])

    def operation_ok(o):
        return (("methods" not in o or method in o["methods"]) and ("ports" not in o or str(port) in o["ports"])
                and ("paths" not in o or any(path_matches(p, path) for p in o["paths"]))
                and not any(path_matches(p, path) for p in o.get("notPaths", [])))

    froms, tos = rule.get("from"), rule.get("to")
    return ((not froms or any(source_ok(f["source"]) for f in froms))
            and (not tos or any(operation_ok(t["operation"]) for t in tos)) and _when_ok(rule.get("when", []), headers))


def authz_allows(docs: list[dict], src: Peer, dst: Peer, port: int, method: str, path: str,
                 headers: dict[str, str] | None = None) -> bool:
    """DENY policies, then ALLOW ones, of the destination workload."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    policies = [d["spec"] for d in docs if d["kind"] == "AuthorizationPolicy"
                and (not d["spec"].get("selector") or _selects(d["spec"]["selector"], dst.labels))]
    matching = lambda action: [p for p in policies if p.get("action", "ALLOW") == action]  # noqa: E731
    if any(_rule_matches(r, src, port, method, path, headers) for p in matching("DENY") for r in p.get("rules", [])):
        return False
    allows = matching("ALLOW")
    return not allows or any(_rule_matches(r, src, port, method, path, headers) for p in allows for r in p.get("rules", []))


def verdict(docs: list[dict], src: Peer, dst: Peer, port: int, method: str = "GET", path: str = "/",
            protocol: str = "TCP", headers: dict[str, str] | None = None) -> str:
    """'allow', or which layer denies: 'network', 'mtls' or 'authz'."""
    if not network_allows(docs, src, dst, port, protocol):
        return "network"
    if dst.namespace != NAMESPACE or port in NOT_INTERCEPTED:
        return "allow"  # outside the project, or not through the sidecar's inbound listener
    if src.principal is None and mtls_mode(docs, dst, port) == "STRICT":
        return "mtls"
    return "allow" if authz_allows(docs, src, dst, port, method, path, headers) else "authz"


def rbac_allows(docs: list[dict], role: str, verb: str, resource: str, group: str = "") -> bool:
    """Whether Role ``role`` grants ``verb`` on ``resource`` (RBAC: any rule naming the group, resource and verb)."""
    rules = next((d.get("rules", []) for d in docs if d["kind"] == "Role" and d["metadata"]["name"] == role), [])
    return any(group in r.get("apiGroups", []) and {resource, "*"} & set(r.get("resources", []))
               and {verb, "*"} & set(r.get("verbs", [])) for r in rules)
