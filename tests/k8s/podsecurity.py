"""Pod Security Admission's "restricted" level for a pod template, as the admission plugin checks it.

Each rule follows a check of kubernetes/pod-security-admission, policy/: the file is
named on each line. Only pod templates are checked, which is what the namespace's
enforce label applies to when their pods are created. Hand-written: the checks live
in Go only.
"""

_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
_SECCOMP = {"RuntimeDefault", "Localhost"}


def _containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec.get("containers", []) + spec.get("ephemeralContainers", [])


def _container(c: dict, pod: dict) -> list[str]:
    sc, name = c.get("securityContext", {}), c["name"]
    problems = []
    if sc.get("privileged"):  # check_privileged.go
        problems.append(f"container {name}: privileged")
    if sc.get("allowPrivilegeEscalation") is not False:  # check_allowPrivilegeEscalation.go
        problems.append(f"container {name}: allowPrivilegeEscalation != false")
    caps = sc.get("capabilities", {})  # check_capabilities_restricted.go
    if "ALL" not in caps.get("drop", []) or set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
        problems.append(f"container {name}: must drop ALL capabilities and add none but NET_BIND_SERVICE")
    if not sc.get("runAsNonRoot", pod.get("runAsNonRoot")):  # check_runAsNonRoot.go
        problems.append(f"container {name}: runAsNonRoot != true")
    if sc.get("runAsUser", pod.get("runAsUser")) == 0:  # check_runAsUser.go
        problems.append(f"container {name}: runAsUser=0")
    seccomp = sc.get("seccompProfile", pod.get("seccompProfile", {})).get("type")  # check_seccompProfile_restricted.go
    if seccomp not in _SECCOMP:
        problems.append(f'container {name}: seccompProfile.type must be "RuntimeDefault" or "Localhost"')
    if any(p.get("hostPort") for p in c.get("ports", [])):  # check_hostPorts.go
        problems.append(f"container {name}: hostPort")
    return problems


def restricted(template: dict) -> list[str]:
    """What the restricted level refuses in this pod template (empty: admitted)."""
    spec = template["spec"]
    pod = spec.get("securityContext", {})
    problems = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]  # check_hostNamespaces.go
    for volume in spec.get("volumes", []):  # check_restrictedVolumes.go
        kinds = set(volume) - {"name"}
        if not kinds <= _VOLUMES:
            problems.append(f"volume {volume['name']}: type {sorted(kinds)[0]} is not allowed")
    for c in _containers(spec):
        problems += _container(c, pod)
    return problems
