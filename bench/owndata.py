"""A data scientist's own material, as docs/your-model.md starts from: breast_cancer split into CSV files, and two
fitted estimators saved with skops (a LogisticRegression v1, a HistGradientBoosting v2)."""

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

if TYPE_CHECKING:  # imported when a stack is started
    from canary.local.client import StackClient
    from canary.local.harness import Harness

NAME = "cancer"
LABEL = "diagnosis"
HGB_TRUST = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"


@dataclass(frozen=True)
class Material:
    """The files a person brings: train and hold-out CSVs (string labels), and the two skops files."""

    train: Path
    holdout: Path
    v1: Path
    v2: Path


def table() -> pd.DataFrame:
    """breast_cancer: 569 rows, 30 named features, labels malignant/benign as strings."""
    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.drop(columns="target")
    frame[LABEL] = [str(bunch.target_names[i]) for i in bunch.target]
    return frame


def write(folder: Path, seed: int = 0) -> Material:
    """Split, fit both estimators on the training rows, save them with skops."""
    folder.mkdir(parents=True, exist_ok=True)
    train, holdout = train_test_split(table(), test_size=0.3, random_state=seed, stratify=table()[LABEL])
    paths = Material(folder / "train.csv", folder / "holdout.csv", folder / "v1.skops", folder / "v2.skops")
    train.to_csv(paths.train, index=False)
    holdout.to_csv(paths.holdout, index=False)
    X, y = train.drop(columns=LABEL), train[LABEL]
    sio.dump(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y), paths.v1)
    sio.dump(HistGradientBoostingClassifier(max_iter=50, random_state=seed).fit(X, y), paths.v2)
    return paths


def package_command(material: Material, out: Path) -> list[str]:
    """docs/your-model.md's command packaging both versions from the skops files and the hold-out CSV."""
    return ["-m", "models.package", "--name", NAME, "--skops", str(material.v1), "--skops", str(material.v2),
            "--trust", HGB_TRUST, "--holdout", str(material.holdout), "--label-column", LABEL, "--out", str(out)]


def package(material: Material, out: Path) -> None:
    """Run package_command; a failure raises with the packager's own message."""
    done = subprocess.run([sys.executable, *package_command(material, out)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"packaging failed: {done.stderr.strip()}")


@contextlib.contextmanager
def packaged_stack(prefix: str) -> Iterator[tuple["Harness", "StackClient", list[str]]]:
    """``canary up --model cancer`` over this material packaged afresh: the harness, the stack's client and the
    load generator's flags that replay the hold-out file; stopped after."""
    from canary.local.client import StackClient
    from canary.local.harness import Harness, free_port_env

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(tmp)
        material = write(work / NAME)
        package(material, work / "artifacts")
        harness = Harness(work / "run", free_port_env(), user="bench")
        try:
            harness.start("canary up", ["-m", "canary", "up", "--model", NAME, "--artifacts", str(work / "artifacts")],
                          "stack ready", 180, log_name="up.log")
            yield harness, StackClient(harness.run_dir), ["--model", NAME, "--data", str(material.holdout),
                                                          "--label-column", LABEL, "--order", "shuffle"]
        finally:
            harness.stop()
