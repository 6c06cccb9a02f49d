"""``python -m cluster up|down|status|env|dataplane``: the local control plane (docs/kubernetes.md)."""

import argparse
import sys

from cluster import controlplane, serve
from cluster.settings import ClusterSettings


def main(argv: list[str] | None = None) -> int:
    """Run one command; a ClusterError is one line on stderr and exit status 1."""
    p = argparse.ArgumentParser(prog="python -m cluster", description=__doc__.split(":")[1].strip())
    p.add_argument("command", choices=("up", "down", "status", "env", "dataplane"),
                   help="up: start everything; down: stop it; status: what runs; env: shell variables to use it; "
                        "dataplane: serve the pods with real runtimes, Envoy, Prometheus and the judge (until Ctrl-C)")
    p.add_argument("--serve-pods", action="store_true",
                   help="up: pods become Ready only once the data plane serves them (CLUSTER_SERVE_PODS)")
    args = p.parse_args(argv)
    s = ClusterSettings(serve_pods=True) if args.serve_pods else ClusterSettings()  # else CLUSTER_SERVE_PODS
    try:
        if args.command == "dataplane":
            return serve.serve(s)
        if args.command == "up":
            controlplane.up(s)
            print(f"cluster: up; use it with: eval \"$(python -m cluster env)\" (kubeconfig {s.kubeconfig})")
        elif args.command == "down":
            stopped = controlplane.down(s)
            print(f"cluster: stopped {', '.join(stopped)}" if stopped else "cluster: nothing was running")
        elif args.command == "status":
            alive = controlplane.running(s)
            print("\n".join(f"{name}: running (pid {pid})" for name, pid in alive.items()) or "cluster: not running")
            return 0 if alive else 3
        else:
            print("\n".join(f"export {k}='{v}'" for k, v in controlplane.env(s).items()))
    except controlplane.ClusterError as exc:
        print(f"cluster {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
