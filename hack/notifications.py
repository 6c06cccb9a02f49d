"""ml-canary's abort alert merged into Argo Rollouts' notification ConfigMap, as a server-side apply.

    kubectl -n argo-rollouts get configmap argo-rollouts-notification-configmap -o json \\
      | python hack/notifications.py [--alertmanager-url URL] | kubectl apply --server-side -f -

The ConfigMap belongs to the cluster's Argo Rollouts release and serves every Rollout in
it. Our service and template have names of their own; the trigger key is shared (Argo
names it after the event, on-rollout-aborted), so our condition is put first in its list
and every condition already there stays. Reads the ConfigMap as JSON on stdin (nothing:
there is none yet); prints the keys to apply.
"""

import argparse
import json
import sys
from pathlib import Path

import yaml

OURS = Path(__file__).resolve().parent.parent / "k8s" / "cluster" / "argo-rollouts-notification-configmap.yaml"
SERVICE = "service.webhook.ml-canary-alertmanager"
# Templates only our conditions send, this release's and earlier ones': such a condition is ours, replaced.
OUR_TEMPLATES = {"ml-canary-rollout-aborted", "rollout-aborted-alert"}


def merged(current: dict, ours: dict, alertmanager_url: str | None) -> dict:
    """Our data keys, each trigger's condition list with ours first and every other condition kept."""
    data = dict(ours["data"])
    if alertmanager_url:
        service = yaml.safe_load(data[SERVICE])
        data[SERVICE] = yaml.safe_dump({**service, "url": alertmanager_url}, sort_keys=False)
    for key in [k for k in data if k.startswith("trigger.")]:
        theirs = yaml.safe_load(current.get("data", {}).get(key) or "[]") or []
        mine = yaml.safe_load(data[key])
        data[key] = yaml.safe_dump(mine + [c for c in theirs if not OUR_TEMPLATES & set(c.get("send", []))],
                                   sort_keys=False)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": ours["metadata"], "data": data}


def main(argv: list[str] | None = None) -> int:
    """Read the live ConfigMap on stdin, print the merged keys as JSON."""
    p = argparse.ArgumentParser(prog="python hack/notifications.py", description=__doc__.splitlines()[0])
    p.add_argument("--alertmanager-url", help="Alertmanager's address (default: the one in k8s/cluster)")
    args = p.parse_args(argv)
    text = sys.stdin.read().strip()
    try:
        current = json.loads(text) if text else {}
    except ValueError as exc:
        print(f"notifications: stdin is not the ConfigMap as JSON: {exc}", file=sys.stderr)
        return 2
    json.dump(merged(current, yaml.safe_load(OURS.read_text()), args.alertmanager_url), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
