"""An automatic abort under the real Argo Rollouts controller reaches Alertmanager's API through the
notification settings ``make notifications`` adds, next to what the cluster's ConfigMap already held.

Alertmanager is a recorder of JSON POSTs on this machine (the controller runs here too). The
rollout aborts by itself: its analysis cannot reach the judge (in-cluster names do not resolve here),
and Argo aborts once the errors pass the template's limit, as it would for a failed analysis."""

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from tests.answer_sink import AnswerSink
from tests.cluster.conftest import Cluster
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

CONFIGMAP = "argo-rollouts-notification-configmap"
# What a cluster's Argo Rollouts release may already hold: another team's abort condition and template.
THEIRS = {"trigger.on-rollout-aborted": "- send: [team-aborted]\n", "template.team-aborted": "message: aborted\n",
          "service.slack": "token: not-used\n"}


@pytest.fixture
def alertmanager():
    """A recorder of JSON POSTs standing in for Alertmanager."""
    sink = AnswerSink()
    yield sink
    sink.close()


def test_an_automatic_abort_alerts_alertmanager_and_other_conditions_stay(deployed: Cluster, alertmanager):
    url, received = alertmanager.base, alertmanager.batches
    deployed.kubectl("-n", "argo-rollouts", "create", "configmap", CONFIGMAP,
                     *(f"--from-literal={k}={v}" for k, v in THEIRS.items()))
    for _ in range(2):  # twice: the second run changes nothing
        done = deployed.make("notifications", f"ALERTMANAGER_URL={url}")
        assert done.returncode == 0, done.stderr
    data = deployed.get("configmap", CONFIGMAP, namespace="argo-rollouts")["data"]
    assert {k: data[k] for k in THEIRS if not k.startswith("trigger.")} == {
        k: v for k, v in THEIRS.items() if not k.startswith("trigger.")}
    sends = [c["send"] for c in yaml.safe_load(data["trigger.on-rollout-aborted"])]
    assert sends == [["ml-canary-rollout-aborted"], ["team-aborted"]]

    # A rollout needs a stable revision (a Rollout's first template goes straight to stable) and none under way.
    wait_until(lambda: (s := deployed.get("rollout", "wine").get("status", {})).get("stableRS")
               and s["stableRS"] == s.get("currentPodHash"), 60, "rollout wine at a stable revision")
    done = deployed.make("rollout-faulty-v2")
    assert done.returncode == 0, done.stderr
    wait_until(lambda: deployed.get("rollout", "wine")["status"].get("abort"), 120, "Argo aborts the rollout")
    alert = wait_until(lambda: received and received[0], 30, "the abort alert at Alertmanager")[0]  # a list of one
    assert alertmanager.paths[0] == "/api/v2/alerts"
    assert alert["labels"] == {"alertname": "MLCanaryRolloutAborted", "severity": "critical",
                               "namespace": "ml-canary", "rollout": "wine"}
    ends = datetime.fromisoformat(alert["endsAt"])
    assert timedelta(minutes=50) < ends - datetime.now(UTC) < timedelta(minutes=70)
