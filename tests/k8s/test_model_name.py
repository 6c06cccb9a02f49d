"""k8s/ for a model not called wine: hack/render.sh's MODEL renames every name, label, route and query, and the
render passes every offline check the wine one does."""

import json
import os
import re
import subprocess

import pytest
import yaml

from tests.k8s import crossref, istio
from tests.k8s.support import ROOT, by_kind, model_name, problems_after, validate
from tests.k8s.test_prometheus import _queries, promtool
from tests.k8s.test_security import assert_nothing_unjustified, checkov
from tests.k8s.test_wiring import wiring

pytestmark = pytest.mark.tools
NAME = "fraud-detector"
WORD = re.compile(r"(?<![A-Za-z0-9_])wine(?![A-Za-z0-9_])")
OVERLAYS = ["mlserver", "seldon"]


def render(overlay: str, model: str | None = None) -> str:
    """What make deploy applies: hack/render.sh with the default images and host, and every component it adds."""
    env = {k: v for k, v in os.environ.items() if k not in ("MODEL", "HOST", "TLS_SECRET", "REGISTRY", "TAG")}
    done = subprocess.run(["hack/render.sh", overlay, "components/v2", "components/loadgen"], cwd=ROOT,
                          env={**env, **({"MODEL": model} if model else {})}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _key(doc: dict) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


@pytest.fixture(scope="module", params=OVERLAYS)
def both(request) -> tuple[str, str]:
    return render(request.param), render(request.param, NAME)


def test_the_render_is_the_wine_one_with_the_name_replaced_and_nothing_else(both):
    wine, renamed = both
    assert not WORD.search(renamed)
    docs = [d for d in yaml.safe_load_all(renamed) if d]
    expected = [json.loads(WORD.sub(NAME, json.dumps(d))) for d in yaml.safe_load_all(wine) if d]
    assert sorted(docs, key=_key) == sorted(expected, key=_key)  # kustomize orders by name: compare as sets
    assert model_name(docs) == NAME and f"{NAME}.example.com" in renamed and f"credentialName: {NAME}-tls" in renamed


def test_the_renamed_render_passes_every_offline_check(both, tmp_path):
    docs = [d for d in yaml.safe_load_all(both[1]) if d]
    for doc in docs:
        validate(doc)
    assert crossref.check(docs) + istio.check(docs) == []
    assert wiring(docs) == []
    rules = by_kind(docs, "PrometheusRule")["ml-canary"]["spec"]["groups"]
    queries = [{"record": f"check:q{i}", "expr": q} for i, q in enumerate(_queries(docs).values())]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rules + [{"name": "q", "rules": queries}]}))
    checked = promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert_nothing_unjustified(checkov(docs, tmp_path))
    judge = by_kind(docs, "StatefulSet")["ml-canary-judge"]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "JUDGE_MODEL", "value": NAME} in judge["env"] and NAME in by_kind(docs, "Service")
    # What serves and what asks use the name the routes and policies allow: the runtime's path, the load's.
    runtime = by_kind(docs, "Rollout")[NAME]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "MODEL_NAME", "value": NAME} in runtime["env"]
    assert f"--model={NAME}" in by_kind(docs, "Job")["loadgen"]["spec"]["template"]["spec"]["containers"][0]["args"]


def test_an_object_left_behind_under_the_old_name_is_caught(both):
    docs = [d for d in yaml.safe_load_all(both[1]) if d]

    def leave_the_destination_rule(docs):
        by_kind(docs, "DestinationRule")[NAME]["metadata"]["name"] = "wine"

    assert any(f"DestinationRule {NAME}" in p for p in problems_after(docs, leave_the_destination_rule,
                                                                       lambda d: crossref.check(d) + istio.check(d)))


@pytest.mark.parametrize("model", ["Fraud", "a" * 33, "fraud_detector", "-x"])
def test_a_name_that_would_not_fit_an_object_name_is_refused_before_rendering(model):
    done = subprocess.run(["hack/render.sh", "mlserver"], cwd=ROOT, env={**os.environ, "MODEL": model},
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == "" and f"MODEL={model} is not a model name" in done.stderr
