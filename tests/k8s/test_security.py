"""A security scanner (checkov) finds nothing that is not justified next to the object."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.k8s.support import ROOT, render

pytestmark = pytest.mark.tools

SCANS = [("overlays/mlserver", ("components/loadgen",)), ("overlays/seldon", ("components/tracing",))]


def checkov_binary() -> str:
    path = Path(os.environ.get("CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
    if not path.exists():
        pytest.fail(f"checkov is missing at {path}: 'make test' installs it into .venv-checkov (or set CHECKOV)")
    return str(path)


def _deployment(metadata: dict, template: dict) -> dict:
    labels = template.get("metadata", {}).get("labels", {"app": metadata["name"]})
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": template}}


def as_scannable(docs: list[dict]) -> list[dict]:
    """checkov knows Deployments, not Rollouts or SeldonDeployments: scan their pod templates as such."""
    out = []
    for doc in docs:
        if doc["kind"] == "Rollout":
            doc = _deployment(doc["metadata"], doc["spec"]["template"])
        elif doc["kind"] == "SeldonDeployment":
            for predictor in doc["spec"]["predictors"]:
                for i, component in enumerate(predictor["componentSpecs"]):
                    meta = {**doc["metadata"], "name": f"{doc['metadata']['name']}-{predictor['name']}-{i}"}
                    pod = {"metadata": component.get("metadata", {"labels": {"app": meta["name"]}}), "spec": component["spec"]}
                    out.append(_deployment(meta, pod))
            continue
        out.append(doc)
    return out


def checkov(docs: list[dict], tmp_path: Path) -> dict:
    """checkov's results (failed, skipped and passed checks) for the rendered objects."""
    target = tmp_path / "scan" / "manifests.yaml"
    target.parent.mkdir()
    target.write_text(yaml.safe_dump_all(as_scannable(docs)))
    # --skip-download: no network; the checks themselves ship with checkov.
    out = subprocess.run(
        [checkov_binary(), "-d", str(target.parent), "--framework", "kubernetes", "--skip-download", "-o", "json"],
        capture_output=True, text=True, env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    report = json.loads(out.stdout)
    return report["results"] if isinstance(report, dict) else report[0]["results"]


def assert_nothing_unjustified(results: dict) -> None:
    """No failed check; every skip with its reason; and checkov did check something."""
    failed = [f"{c['check_id']} {c['check_name']} ({c['resource']})" for c in results["failed_checks"]]
    assert not failed, "\n".join(failed)
    skipped = results.get("skipped_checks", [])
    assert all(s.get("check_result", {}).get("suppress_comment") for s in skipped), "a skip without a reason"
    assert results["passed_checks"], "checkov ran no check"


@pytest.mark.parametrize("path, components", SCANS, ids=[s[0] for s in SCANS])
def test_checkov_reports_nothing_unjustified(path, components, tmp_path):
    assert_nothing_unjustified(checkov(render(path, components, tmp_path if components else None), tmp_path))
