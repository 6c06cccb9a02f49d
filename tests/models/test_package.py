"""python -m models.package: any scikit-learn classifier becomes a version, and what is not one is refused."""


import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from bench import owndata
from models import artifacts, fastpath, package


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    return owndata.write(tmp_path_factory.mktemp("cancer"))


def run(*flags) -> int:
    return package.main([str(f) for f in flags])


def test_a_skops_pipeline_becomes_a_version_with_its_names_classes_sha_and_offline_metrics(material, tmp_path, capsys):
    out = tmp_path / "art"
    assert run("--name", "cancer", "--version", "v1", "--skops", material.v1, "--holdout", material.holdout,
               "--label-column", owndata.LABEL, "--out", out) == 0
    meta = artifacts.read_metadata(out / "v1")
    assert meta.name == "cancer" and meta.version == "v1" and meta.classes == ["benign", "malignant"]
    assert meta.feature_names == list(owndata.table().columns[:-1]) and len(meta.feature_names) == 30
    assert set(meta.metrics) == {"test_accuracy", "test_macro_f1", "test_log_loss", "test_rows"}
    assert meta.metrics["test_accuracy"] > 0.9 and meta.metrics["test_rows"] == 171
    assert meta.sha256 == artifacts.sha256_of(out / "v1" / artifacts.MODEL_FILE)
    assert "cancer v1: 2 classes, test_accuracy=" in capsys.readouterr().out


def test_a_type_skops_does_not_trust_is_named_and_loaded_only_when_trusted_explicitly(material, tmp_path, capsys):
    out = tmp_path / "art"
    assert run("--name", "cancer", "--version", "v2", "--skops", material.v2, "--out", out,
               "--holdout", material.holdout, "--label-column", owndata.LABEL) == package.EXIT_REFUSED
    err = capsys.readouterr().err
    assert f"types skops does not trust by default: {owndata.HGB_TRUST}" in err and f"--trust {owndata.HGB_TRUST}" in err
    assert not (out / "v2").exists()
    assert run("--name", "cancer", "--version", "v2", "--skops", material.v2, "--trust", owndata.HGB_TRUST,
               "--out", out, "--holdout", material.holdout, "--label-column", owndata.LABEL) == 0
    estimator, meta = artifacts.load(out / "v2")  # the runtime trusts what the packager trusted, no more
    assert meta.trusted_types == [owndata.HGB_TRUST] and type(estimator).__name__ == "HistGradientBoostingClassifier"


@pytest.mark.parametrize("estimator, says", [(LinearRegression(), "LinearRegression is a regressor; supported: "),
                                             (StandardScaler(), "StandardScaler has no predict")])
def test_a_regressor_or_a_model_without_predict_is_refused_in_one_line(material, tmp_path, capsys, estimator, says):
    table = owndata.table()
    path = tmp_path / "model.skops"
    sio.dump(estimator.fit(table.drop(columns=owndata.LABEL), table["mean radius"]), path)
    assert run("--name", "m", "--version", "v1", "--skops", path, "--out", tmp_path / "art") == package.EXIT_REFUSED
    err = capsys.readouterr().err.strip()
    assert says in err and "fitted scikit-learn classifier" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "art").exists()


def test_a_class_with_build_is_fitted_on_the_train_file_digits_with_integer_labels(tmp_path, monkeypatch):
    bunch = load_digits(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "digit"})
    frame.iloc[:1200].to_csv(tmp_path / "train.csv", index=False)  # Parquet: tests/loadgen (its venv has pyarrow)
    frame.iloc[1200:].to_json(tmp_path / "holdout.jsonl", orient="records", lines=True)
    (tmp_path / "mine.py").write_text(
        "from sklearn.ensemble import RandomForestClassifier\n\n\nclass Forest:\n"
        "    description = 'a small forest'\n\n    @staticmethod\n    def build(seed):\n"
        "        return RandomForestClassifier(n_estimators=20, random_state=seed)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert run("--name", "digits", "--version", "v1", "--class", "mine:Forest", "--train", tmp_path / "train.csv",
               "--holdout", tmp_path / "holdout.jsonl", "--label-column", "digit",
               "--trust", "sklearn.tree._tree.Tree", "--out", tmp_path / "art") == 0
    estimator, meta = artifacts.load(tmp_path / "art" / "v1")
    assert meta.classes == [str(d) for d in range(10)] and len(meta.feature_names) == 64
    assert meta.description == "a small forest" and meta.metrics["test_accuracy"] > 0.8
    rows = frame.iloc[1200:1300, :64]
    predicted = fastpath.compile_predict(estimator)(rows.to_numpy(dtype=float))  # steps aside for a forest
    assert list(np.asarray(meta.classes)[predicted]) == [str(c) for c in estimator.predict(rows)]


def test_a_pipeline_with_a_column_transformer_is_served_from_rows_by_its_column_names(tmp_path):
    table = owndata.table()
    X, y = table.drop(columns=owndata.LABEL), table[owndata.LABEL]
    scaled = ColumnTransformer([("scale", StandardScaler(), ["mean radius", "worst area"])], remainder="passthrough")
    path = tmp_path / "ct.skops"
    sio.dump(make_pipeline(scaled, SVC(random_state=0)).fit(X, y), path)  # SVC: predict, no predict_proba
    assert run("--name", "cancer", "--version", "v3", "--skops", path, "--out", tmp_path / "art",
               "--holdout", owndata_holdout(tmp_path, table),
               "--label-column", owndata.LABEL) == 0
    estimator, meta = artifacts.load(tmp_path / "art" / "v3")
    assert "test_log_loss" not in meta.metrics and meta.metrics["test_accuracy"] > 0.85
    assert fastpath._needs_table(estimator)  # a table only here: for a model fitted on one it costs as much again
    assert not fastpath._needs_table(artifacts.load(tmp_path / "art" / "v3")[0][-1])
    rows = X.to_numpy(dtype=float)[:50]  # what a runtime holds: bare float rows in the model's column order
    indices = fastpath.compile_predict(estimator)(rows)
    assert list(np.asarray(meta.classes)[indices]) == list(estimator.predict(X.iloc[:50]))


def owndata_holdout(tmp_path, table: pd.DataFrame):
    path = tmp_path / "holdout.csv"
    table.iloc[::3].to_csv(path, index=False)
    return path


def test_file_problems_are_one_line_each_and_nothing_is_written(material, tmp_path, capsys):
    out = tmp_path / "art"
    cases = [(["--holdout", tmp_path / "none.csv"], "none.csv: no such file"),
             (["--holdout", material.v1], "unknown format .skops"),
             (["--name", "Cancer!"], "model name 'Cancer!'"),
             (["--version", "v 2"], "version 'v 2'"),
             (["--version", "v1.2"], "version 'v1.2'"),  # a dot would split Envoy's stat names
             (["--features", "a,b"], "--features a,b differ from the names the estimator was fitted with")]
    for extra, says in cases:
        flags = {"--name": "cancer", "--version": "v1", "--skops": material.v1, "--out": out,
                 "--label-column": owndata.LABEL, **dict(zip(extra[::2], extra[1::2], strict=True))}
        assert run(*[x for kv in flags.items() for x in kv]) == package.EXIT_REFUSED, extra
        err = capsys.readouterr().err
        assert says in err and err.count("\n") == 1, extra  # one line, no traceback
    assert not out.exists()


def test_one_call_packages_each_skops_file_as_the_version_its_name_says(material, tmp_path, capsys):
    out = tmp_path / "art"
    assert run("--name", "cancer", "--skops", material.v1, "--skops", material.v2, "--trust", owndata.HGB_TRUST,
               "--holdout", material.holdout, "--label-column", owndata.LABEL, "--out", out) == 0
    assert [artifacts.read_metadata(out / v).version for v in ("v1", "v2")] == ["v1", "v2"]
    assert [line.split(":")[0] for line in capsys.readouterr().out.splitlines()] == ["cancer v1", "cancer v2"]
    assert run("--name", "cancer", "--skops", material.v1, "--skops", material.v2, "--out", tmp_path / "none") == 2
    assert "--trust" in capsys.readouterr().err and not (tmp_path / "none").exists()  # v1 fits, but nothing is written
    assert run("--name", "cancer", "--version", "v3", "--skops", material.v1, "--skops", material.v2,
               "--out", out) == package.EXIT_REFUSED
    assert "--version names one version" in capsys.readouterr().err and not (out / "v3").exists()


def test_nothing_is_written_unless_every_version_passes_and_another_models_version_is_never_overwritten(
        material, tmp_path, artifact_root, capsys):
    table = owndata.table()
    regressor = tmp_path / "v2.skops"
    sio.dump(LinearRegression().fit(table.drop(columns=owndata.LABEL), table["mean radius"]), regressor)
    out = tmp_path / "art"
    assert run("--name", "cancer", "--skops", material.v1, "--skops", regressor, "--out", out) == package.EXIT_REFUSED
    assert "LinearRegression is a regressor" in capsys.readouterr().err and not out.exists()  # v1 passed, unwritten
    assert run("--name", "cancer", "--skops", material.v1, "--out", artifact_root) == package.EXIT_REFUSED
    assert f"{artifact_root / 'v1'} holds a version of model wine: give another --out" in capsys.readouterr().err
    assert artifacts.read_metadata(artifact_root / "v1").name == "wine"


def test_a_hold_out_the_model_cannot_be_scored_on_is_one_line_not_a_traceback(material, tmp_path, capsys):
    odd = owndata.table().iloc[:40].assign(**{owndata.LABEL: ["benign", "unknown"] * 20})
    odd.to_csv(tmp_path / "odd.csv", index=False)
    assert run("--name", "cancer", "--skops", material.v1, "--holdout", tmp_path / "odd.csv",
               "--label-column", owndata.LABEL, "--out", tmp_path / "art") == package.EXIT_REFUSED
    err = capsys.readouterr().err.strip()
    assert err.endswith("has labels the model does not know: unknown (its classes: benign, malignant)")
    sio.dump({"model": "not an estimator"}, tmp_path / "dict.skops")
    assert run("--name", "m", "--skops", tmp_path / "dict.skops", "--out", tmp_path / "art") == package.EXIT_REFUSED
    assert "dict has no predict; supported" in capsys.readouterr().err


def test_feature_names_that_do_not_fit_the_estimators_width_are_refused(tmp_path, capsys):
    table = owndata.table()
    X = table.drop(columns=owndata.LABEL).to_numpy()  # fitted on bare rows: no names of its own
    sio.dump(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, table[owndata.LABEL]), tmp_path / "v1.skops")
    assert run("--name", "m", "--skops", tmp_path / "v1.skops", "--features", "a,b",
               "--out", tmp_path / "art") == package.EXIT_REFUSED
    assert "2 feature names (a,b,...) for an estimator fitted on 30 features" in capsys.readouterr().err


def test_a_class_needs_a_train_file(tmp_path, capsys):
    assert run("--name", "wine", "--version", "v9", "--class", "models.versions:ModelV2",
               "--out", tmp_path) == package.EXIT_REFUSED
    assert "--class needs --train FILE" in capsys.readouterr().err


def test_help_names_every_source(capsys):
    with pytest.raises(SystemExit):
        package.main(["--help"])
    shown = capsys.readouterr().out
    assert all(flag in shown for flag in ("--skops", "--class", "--trust", "--holdout", "--label-column"))

