"""Render the kustomize trees and validate objects offline: core kinds against
Kubernetes' schemas, custom resources against the CRDs in ../shared/crds."""

import copy
import functools
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
KUBERNETES_VERSION = "1.32"


def require_binary(name: str, package: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"'{name}' is missing: install it ({package}); 'make test' does on Debian/Ubuntu")
    return found


def render(path: str, components: tuple[str, ...] = (), tmp_path: Path | None = None, root: Path = K8S) -> list[dict]:
    """``kubectl kustomize`` of a folder under k8s/ (or a copy of it at ``root``), optionally with components added."""
    kubectl = require_binary("kubectl", "kubectl, with kustomize built in")
    target = root / path
    if components:
        assert tmp_path is not None
        rel = lambda p: os.path.relpath(root / p, tmp_path)  # noqa: E731 - kustomize wants relative paths
        (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(
            {"resources": [rel(path)], "components": [rel(c) for c in components]}))
        target = tmp_path
    out = subprocess.run([kubectl, "kustomize", str(target)], capture_output=True, text=True)
    assert out.returncode == 0, f"kubectl kustomize {path} failed:\n{out.stderr}"
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def crd_dir() -> Path:
    folder = Path(os.environ.get("CRD_DIR", ROOT.parent / "shared" / "crds"))
    if not folder.is_dir():
        pytest.fail(f"CRD schemas not found at {folder}: put them at ../shared/crds or set CRD_DIR")
    return folder


def _strict(schema: dict) -> dict:
    """Refuse unknown fields, as 'kubectl apply --validate=strict' does, unless the CRD allows them."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (node.get("type") == "object" and "properties" in node
                    and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    # apiVersion, kind and metadata are the API server's to check, not the CRD's.
    top = schema.setdefault("properties", {})
    top.update(apiVersion={"type": "string"}, kind={"type": "string"}, metadata={"type": "object"})
    return schema


class CrdLoader(yaml.SafeLoader):
    """YAML as Kubernetes reads it (YAML 1.2, sigs.k8s.io/yaml): a bare ``=`` is the string "=".

    PyYAML follows YAML 1.1, whose "value" type claims a bare ``=``; prometheus-operator's
    AlertmanagerConfig CRD has one in its ``matchType`` enum.
    """


CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


@functools.lru_cache(maxsize=1)
def crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> strict JSON schema, from every CRD file."""
    schemas = {}
    for path in sorted(crd_dir().glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=CrdLoader):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            for version in doc["spec"]["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if schema and version.get("served", True):
                    schemas[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return schemas


def validate(doc: dict) -> None:
    """Raise AssertionError naming the object and the problem."""
    key = (doc["apiVersion"], doc["kind"])
    name = f"{doc['kind']}/{doc['metadata'].get('name')}"
    if key in crd_schemas():
        errors = sorted(jsonschema.Draft7Validator(crd_schemas()[key]).iter_errors(doc), key=str)
        assert not errors, f"{name}: " + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5])
        return
    import kubernetes_validate

    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        pytest.fail(f"{name}: no schema for {key} (neither Kubernetes {KUBERNETES_VERSION} nor a CRD in {crd_dir()})")
    except kubernetes_validate.ValidationError as exc:
        raise AssertionError(f"{name}: {str(exc).splitlines()[0]}") from None


def problems_after(docs: list[dict], mutate, check) -> list[str]:
    """What ``check`` says of a copy of ``docs`` broken by ``mutate``: how each check proves it can fail."""
    docs = copy.deepcopy(docs)
    mutate(docs)
    return check(docs)


def model_name(docs: list[dict]) -> str:
    """The model's name, which hack/render.sh's MODEL gives the Rollout, its Service and every route: the
    Rollout's (wine, the demo's, when there is none)."""
    return next(iter(by_kind(docs, "Rollout")), "wine")


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}
