"""Train both model versions deterministically: ``python -m models.train --out artifacts``."""

import argparse
import os
import sys
from pathlib import Path

import sklearn
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import StratifiedKFold, cross_val_score

from models import artifacts, dataset, versions

DEFAULT_SEED = 42
DEFAULT_OUT = "artifacts"
CV_FOLDS = 5


def evaluate(model_cls: type[versions.ModelVersion], data: dataset.Dataset,
             seed: int) -> tuple[object, dict[str, float]]:
    """Fit on the training split; score on the held-out split and by cross-validation."""
    estimator = model_cls.build(seed).fit(data.X_train, data.y_train)
    predicted = estimator.predict(data.X_test)
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
    cv_scores = cross_val_score(model_cls.build(seed), data.X_train, data.y_train, cv=folds)
    metrics = {
        "test_accuracy": round(float(accuracy_score(data.y_test, predicted)), 4),
        "test_macro_f1": round(float(f1_score(data.y_test, predicted, average="macro")), 4),
        "test_log_loss": round(float(log_loss(data.y_test, estimator.predict_proba(data.X_test))), 4),
        "cv_accuracy_mean": round(float(cv_scores.mean()), 4),
        "test_rows": len(data.y_test),
    }
    return estimator, metrics


def train(version: str, out: Path, seed: int = DEFAULT_SEED) -> artifacts.Metadata:
    """Train one version and write its artifact; return the metadata written."""
    model_cls = versions.get(version)
    data = dataset.load(seed)
    estimator, metrics = evaluate(model_cls, data, seed)
    metadata = artifacts.Metadata(
        version=version,
        description=model_cls.description,
        classes=data.class_names,
        feature_names=data.feature_names,
        metrics=metrics,
        sha256="",
        seed=seed,
        sklearn_version=sklearn.__version__,
    )
    artifacts.save(estimator, metadata, out)
    return metadata


def main(argv: list[str] | None = None) -> int:
    """Train the versions asked for and print their scores."""
    parser = argparse.ArgumentParser(
        prog="python -m models.train", description="Train the wine classifier versions."
    )
    parser.add_argument(
        "--out",
        default=os.environ.get("MODELS_OUT", DEFAULT_OUT),
        help="artifact root; each version goes to OUT/<version> (env MODELS_OUT, default %(default)s)",
    )
    parser.add_argument(
        "--version",
        action="append",
        choices=sorted(versions.VERSIONS),
        help="train only this version (repeatable; default: all)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="default %(default)s")
    args = parser.parse_args(argv)
    for version in args.version or sorted(versions.VERSIONS):
        meta = train(version, Path(args.out), args.seed)
        scores = ", ".join(f"{k}={v}" for k, v in meta.metrics.items())
        print(f"{version}: {scores} sha256={meta.sha256[:12]} -> {Path(args.out) / version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
