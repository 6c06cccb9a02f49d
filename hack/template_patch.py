"""The pod template of the render's Rollout (named after the model), as a JSON patch that replaces only spec.template.

    hack/render.sh mlserver components/v2 | python hack/template_patch.py | kubectl patch rollout wine --type json --patch-file /dev/stdin

Arguments NAME=VALUE add variables to the runtime container (``make rollout-v2 FAULTS="FAULT_ERROR_RATIO=1"``).

A new template is what starts a rollout; applying the whole Rollout again would also
reset fields others own at run time (the HPA's replicas).
"""

import json
import sys

import yaml


def patch(stream, name: str | None = None, env: tuple[str, ...] = ()) -> list[dict]:
    """[{"op": "replace", "path": "/spec/template", "value": <the template>}] for Rollout ``name`` (None: the
    render's one Rollout, whatever MODEL named it), with the NAME=VALUE variables of ``env`` added to its first
    container."""
    added = []
    for pair in env:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise SystemExit(f"template_patch: {pair!r} is not NAME=VALUE")
        added.append({"name": key, "value": value})
    for doc in yaml.safe_load_all(stream):
        if doc and doc.get("kind") == "Rollout" and name in (None, doc["metadata"]["name"]):
            template = doc["spec"]["template"]
            template["spec"]["containers"][0].setdefault("env", []).extend(added)
            return [{"op": "replace", "path": "/spec/template", "value": template}]
    raise SystemExit(f"template_patch: no Rollout {name + ' ' if name else ''}in the render on stdin")


if __name__ == "__main__":
    json.dump(patch(sys.stdin, env=tuple(sys.argv[1:])), sys.stdout)
