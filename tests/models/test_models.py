import json

import numpy as np
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer
from sklearn.tree import DecisionTreeClassifier

from models import artifacts, dataset, fastpath, train, versions


def test_v2_is_measurably_better_offline(artifact_root):
    v1 = artifacts.read_metadata(artifact_root / "v1").metrics
    v2 = artifacts.read_metadata(artifact_root / "v2").metrics
    assert v2["test_accuracy"] > v1["test_accuracy"]
    assert v2["cv_accuracy_mean"] > v1["cv_accuracy_mean"]
    assert v2["test_log_loss"] < v1["test_log_loss"]


def test_metadata_describes_the_artifact(artifact_root):
    meta = artifacts.read_metadata(artifact_root / "v2")
    assert meta.version == "v2"
    assert meta.classes == ["class_0", "class_1", "class_2"]
    assert len(meta.feature_names) == 13 and "alcohol" in meta.feature_names
    assert meta.sha256 == artifacts.sha256_of(artifact_root / "v2" / artifacts.MODEL_FILE)


def test_training_is_deterministic(tmp_path, wine):
    first = train.train("v2", tmp_path / "a")
    second = train.train("v2", tmp_path / "b")
    assert first.metrics == second.metrics
    est_a, _ = artifacts.load(tmp_path / "a" / "v2")
    est_b, _ = artifacts.load(tmp_path / "b" / "v2")
    np.testing.assert_array_equal(est_a[-1].coef_, est_b[-1].coef_)
    np.testing.assert_array_equal(est_a.predict(wine.X), est_b.predict(wine.X))


def test_train_cli_writes_only_the_requested_version(tmp_path, capsys):
    assert train.main(["--out", str(tmp_path), "--version", "v1"]) == 0
    assert (tmp_path / "v1" / artifacts.MODEL_FILE).is_file()
    assert not (tmp_path / "v2").exists()
    assert "v1: test_accuracy=" in capsys.readouterr().out


def test_unknown_version_names_the_known_ones():
    with pytest.raises(ValueError, match="known versions: v1, v2"):
        versions.get("v3")


def _copy_artifact(src, dst):
    dst.mkdir()
    for name in (artifacts.MODEL_FILE, artifacts.METADATA_FILE):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[:-100], id="truncated"),
        pytest.param(lambda b: b[:500] + bytes([b[500] ^ 0xFF]) + b[501:], id="one-byte-flipped"),
        pytest.param(lambda b: b + b"\0", id="appended"),
    ],
)
def test_tampered_artifact_refuses_to_load(artifact_root, tmp_path, damage):
    folder = _copy_artifact(artifact_root / "v1", tmp_path / "v1")
    model = folder / artifacts.MODEL_FILE
    model.write_bytes(damage(model.read_bytes()))
    with pytest.raises(artifacts.ArtifactError, match="changed or truncated; refusing to load"):
        artifacts.load(folder)


def test_missing_artifact_says_how_to_make_it(tmp_path):
    with pytest.raises(artifacts.ArtifactError, match="python -m models.train"):
        artifacts.load(tmp_path)


def test_untrusted_type_is_refused_even_with_a_matching_hash(tmp_path):
    # A function inside the file would run arbitrary code with plain pickle.
    folder = tmp_path / "v9"
    folder.mkdir()
    sio.dump(FunctionTransformer(func=print), folder / artifacts.MODEL_FILE)
    meta = {
        "version": "v9", "description": "", "classes": [], "feature_names": [], "metrics": {},
        "sha256": artifacts.sha256_of(folder / artifacts.MODEL_FILE), "seed": 0,
        "sklearn_version": "", "extra": {},
    }
    (folder / artifacts.METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(artifacts.ArtifactError, match="could not be loaded safely"):
        artifacts.load(folder)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_fast_path_matches_scikit_learn_on_every_row(artifact_root, wine, version):
    estimator, _ = artifacts.load(artifact_root / version)
    predict = fastpath.compile_predict(estimator)
    np.testing.assert_array_equal(predict(wine.X), estimator.predict(wine.X))


def test_fast_path_off_calls_scikit_learn_on_a_linear_model(artifact_root, wine):
    estimator, _ = artifacts.load(artifact_root / "v2")
    calls = []
    original = estimator.predict
    estimator.predict = lambda X: calls.append(len(X)) or original(X)
    labels = fastpath.compile_predict(estimator, fast=False)(wine.X)
    np.testing.assert_array_equal(np.asarray(estimator.classes_)[labels], original(wine.X))
    assert calls == [len(wine.X)]
    fastpath.compile_predict(estimator)(wine.X)
    assert calls == [len(wine.X)], "the fast path must not call estimator.predict"


def test_fast_path_falls_back_for_other_estimators(wine):
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(wine.X_train, wine.y_train)
    np.testing.assert_array_equal(fastpath.compile_predict(tree)(wine.X), tree.predict(wine.X))


def test_dataset_has_names_and_three_classes():
    data = dataset.load()
    assert len(set(data.y_train)) == 3
    assert data.X.shape == (178, 13)
