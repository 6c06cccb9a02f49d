"""The pod template of Rollout wine in a render, as a JSON patch that replaces only spec.template.

    hack/render.sh mlserver components/v2 | python hack/template_patch.py | kubectl patch rollout wine --type json --patch-file /dev/stdin

A new template is what starts a rollout; applying the whole Rollout again would also
reset fields others own at run time (the HPA's replicas).
"""

import json
import sys

import yaml


def patch(stream, name: str = "wine") -> list[dict]:
    """[{"op": "replace", "path": "/spec/template", "value": <the template>}] for Rollout ``name``."""
    for doc in yaml.safe_load_all(stream):
        if doc and doc.get("kind") == "Rollout" and doc["metadata"]["name"] == name:
            return [{"op": "replace", "path": "/spec/template", "value": doc["spec"]["template"]}]
    raise SystemExit(f"template_patch: no Rollout {name!r} in the render on stdin")


if __name__ == "__main__":
    json.dump(patch(sys.stdin), sys.stdout)
