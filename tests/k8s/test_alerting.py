"""Alerts reach this project's receivers through the Alertmanager config prometheus-operator
builds from AlertmanagerConfig ml-canary, checked with the real amtool; Argo's notification
settings merge into a ConfigMap the cluster owns."""

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from hack import notifications
from tests.k8s import alerting
from tests.k8s.support import ROOT, by_kind, require_binary, validate

pytestmark = pytest.mark.tools

NOTIFICATIONS = ROOT / "k8s" / "cluster" / "argo-rollouts-notification-configmap.yaml"
PAGER, TEAM = "ml-canary/ml-canary/ml-platform-pager", "ml-canary/ml-canary/ml-platform"


@pytest.fixture(scope="module")
def config(docs, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("alertmanager")
    amc = by_kind(docs, "AlertmanagerConfig")["ml-canary"]
    (folder / "alertmanager.yaml").write_text(yaml.safe_dump(alerting.operator_config(amc)))
    return folder / "alertmanager.yaml"


def amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([require_binary("amtool", "Debian package prometheus-alertmanager"), *args],
                          capture_output=True, text=True)


def receivers(config: Path, labels: dict) -> list[str]:
    out = amtool("config", "routes", "test", f"--config.file={config}", *(f"{k}={v}" for k, v in labels.items()))
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.split()


def test_the_built_config_loads(config):
    out = amtool("check-config", str(config))
    assert out.returncode == 0, out.stdout + out.stderr


def _rule_alerts(docs) -> list[dict]:
    groups = by_kind(docs, "PrometheusRule")["ml-canary"]["spec"]["groups"]
    return [{"alertname": r["alert"], **r.get("labels", {})} for g in groups for r in g["rules"] if "alert" in r]


def test_every_alert_rule_reaches_a_receiver_of_the_project(docs, config):
    for labels in _rule_alerts(docs):
        expected = PAGER if labels.get("severity") == "critical" else TEAM
        assert receivers(config, labels) == [expected], labels


def test_an_alert_without_the_namespace_label_misses_the_projects_routes(docs, config):
    labels = {k: v for k, v in _rule_alerts(docs)[0].items() if k != "namespace"}
    assert receivers(config, labels) == [alerting.NULL]


def _notification() -> dict:
    return yaml.safe_load(NOTIFICATIONS.read_text())


def test_a_rollout_abort_reaches_the_pager(config):
    template = yaml.safe_load(_notification()["data"]["template.ml-canary-rollout-aborted"])
    values = {".rollout.metadata.namespace": "ml-canary", ".rollout.metadata.name": "wine"}
    # Each Go template action as Argo would fill it (tests/cluster renders it for real).
    body = re.sub(r"{{\s*(.*?)\s*}}", lambda m: values.get(m.group(1), "x"),
                  template["webhook"]["ml-canary-alertmanager"]["body"])
    assert receivers(config, json.loads(body)[0]["labels"]) == [PAGER]


def test_the_notification_settings_are_a_valid_configmap_that_make_adds_to():
    validate(_notification())
    makefile = (ROOT / "Makefile").read_text()
    assert "hack/notifications.py" in makefile
    assert "apply -k k8s/cluster" not in makefile  # never overwrite what the cluster's Helm release owns


THEIRS = {"data": {"trigger.on-rollout-aborted": "- send: [rollout-aborted]\n"
                                                 # the earlier release's condition: ours, replaced
                                                 "- {send: [rollout-aborted-alert], when: rollout.status.abort}\n",
                   "trigger.on-rollout-completed": "- send: [rollout-completed]\n", "service.slack": "token: t\n"}}


def test_make_notifications_puts_our_condition_first_and_keeps_every_other():
    once = notifications.merged(THEIRS, _notification(), "http://am:9093")
    again = notifications.merged(once, _notification(), "http://am:9093")
    assert again == once
    conditions = yaml.safe_load(once["data"]["trigger.on-rollout-aborted"])
    assert [c["send"] for c in conditions] == [["ml-canary-rollout-aborted"], ["rollout-aborted"]]
    assert set(once["data"]) == set(_notification()["data"])  # only our keys (and the shared trigger) applied
    assert yaml.safe_load(once["data"][notifications.SERVICE])["url"] == "http://am:9093"


def test_notification_subscription_names_a_configured_service(docs):
    config = _notification()["data"]
    rollout = by_kind(docs, "Rollout")["wine"]
    for key in rollout["metadata"]["annotations"]:
        if key.startswith("notifications.argoproj.io/subscribe."):
            trigger, service = key.split("subscribe.", 1)[1].split(".")
            assert f"trigger.{trigger}" in config, f"no trigger {trigger}"
            assert any(k.startswith("service.") and k.endswith(f".{service}") for k in config), f"no service {service}"
            for entry in yaml.safe_load(config[f"trigger.{trigger}"]):
                for template in entry["send"]:
                    assert f"template.{template}" in config
