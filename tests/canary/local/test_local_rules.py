"""The local stack's rules: promtool's unit tests, and the same names as the cluster's."""

import subprocess

import pytest
import yaml

from tests.canary.conftest import ROOT
from tests.k8s.support import require_binary

LOCAL = ROOT / "canary" / "local" / "prometheus" / "rules.yaml"
CLUSTER = ROOT / "k8s" / "base" / "prometheusrule.yaml"


def names(groups: list[dict], key: str) -> set[str]:
    return {rule[key] for group in groups for rule in group["rules"] if key in rule}


@pytest.mark.tools
def test_local_rules_pass_promtool(tmp_path):
    (tmp_path / "rules.yaml").write_text(LOCAL.read_text())
    (tmp_path / "rules.test.yaml").write_text((ROOT / "tests/canary/local/promtool/local-rules.test.yaml").read_text())
    promtool = require_binary("promtool", "Debian package prometheus")
    for args in (["check", "rules", "rules.yaml"], ["test", "rules", "rules.test.yaml"]):
        out = subprocess.run([promtool, *args], capture_output=True, text=True, cwd=tmp_path)
        assert out.returncode == 0, out.stdout + out.stderr


def test_one_analysis_template_serves_both_places():
    local = yaml.safe_load(LOCAL.read_text())["groups"]
    cluster = yaml.safe_load(CLUSTER.read_text())["spec"]["groups"]
    assert names(local, "record") == names(cluster, "record")
    assert names(local, "alert") == names(cluster, "alert")
