"""The stack serves a person's model only as they packaged it, and says so before any process starts."""

import json
import shutil

import pytest

from canary.cli import stack as cli_stack
from canary.cli.main import build_parser
from canary.local import packaged
from canary.local.settings import StackSettings
from models import artifacts


def settings(root, model="cancer") -> StackSettings:
    return StackSettings(artifacts=root, model=model)


def test_a_version_not_packaged_is_named_with_the_command_that_packages_it(tmp_path):
    with pytest.raises(packaged.NotPackaged, match=r"no version v1 of model cancer in .*: package it with "
                                                   r"'python -m models.package'"):
        packaged.ensure(settings(tmp_path), lambda line: None)


def test_another_models_version_is_refused_with_the_setting_to_change(artifact_root):
    with pytest.raises(packaged.NotPackaged, match=r"is a version of model wine, not cancer: set --model wine"):
        packaged.check(settings(artifact_root), "v2")


def test_the_demo_never_serves_another_models_version_as_wine(artifact_root, tmp_path):
    for version in ("v1", "v2"):
        shutil.copytree(artifact_root / version, tmp_path / version)
    meta = json.loads((tmp_path / "v1" / artifacts.METADATA_FILE).read_text())
    (tmp_path / "v1" / artifacts.METADATA_FILE).write_text(json.dumps({**meta, "name": "cancer"}))
    with pytest.raises(packaged.NotPackaged, match="is a version of model cancer, not wine: set --model cancer"):
        packaged.ensure(settings(tmp_path, "wine"), lambda line: None)


def test_the_demo_trains_what_is_missing_and_no_other_model_is_trained(tmp_path):
    said: list[str] = []
    packaged.ensure(settings(tmp_path, "wine"), said.append)
    assert said == [f"training model v1 into {tmp_path}", f"training model v2 into {tmp_path}"]
    assert artifacts.read_metadata(tmp_path / "v2").name == "wine"


def test_a_model_name_that_would_not_fit_a_url_or_an_object_name_is_refused():
    with pytest.raises(ValueError, match="model"):
        StackSettings(model="Cancer Model")


def test_canary_up_takes_the_model_and_its_artifacts_over_their_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("CANARY_MODEL", "wine")
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["up", "--model", "cancer", "--artifacts", "art"])
    chosen = cli_stack._with_flags(StackSettings(), args)
    assert chosen.model == "cancer" and chosen.artifacts == tmp_path / "art"  # resolved where the command ran
    assert cli_stack._with_flags(StackSettings(), build_parser().parse_args(["up"])).model == "wine"
