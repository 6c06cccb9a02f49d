"""``python -m cluster dataplane``: serve the local control plane's pods until Ctrl-C or SIGTERM."""

import signal
import sys
import threading

from canary.local.settings import StackSettings
from cluster import controlplane
from cluster.dataplane import DataPlane
from cluster.kube import Kube
from cluster.settings import ClusterSettings

NAMESPACE = "ml-canary"


def serve(cluster: ClusterSettings, namespace: str = NAMESPACE) -> int:
    """Run the data plane in the foreground; exit status 0 once stopped by a signal."""
    if not controlplane.running(cluster):
        print("cluster dataplane: no control plane runs; start one with python -m cluster up --serve-pods",
              file=sys.stderr)
        return 1
    if not (cluster.run_dir / "kwok-stages.yaml").exists():
        print("cluster dataplane: this control plane makes pods Ready without a data plane; restart it with "
              "python -m cluster down && python -m cluster up --serve-pods", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    settings = StackSettings()
    kube = Kube(cluster.kubeconfig, namespace)
    print(f"data plane: serving Rollout wine's pods in {namespace}; gateway http://127.0.0.1:{settings.gateway_port}, "
          f"Prometheus http://127.0.0.1:{settings.prometheus_port}, judge http://127.0.0.1:{settings.judge_port}",
          flush=True)
    try:
        DataPlane(kube, settings, emit=lambda line: print(line, flush=True)).run(stop)
    finally:
        kube.close()
    print("data plane: stopped", flush=True)
    return 0
