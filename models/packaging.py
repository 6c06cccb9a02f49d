"""Turn a person's fitted scikit-learn classifier into a served version: checked, scored, written as an artifact."""

import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import skops.io as sio
from sklearn.base import is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.utils.validation import check_is_fitted

from models import artifacts, tables
from models.names import NAME_PATTERN, VERSION_PATTERN

SUPPORTED = ("supported: a fitted scikit-learn classifier with predict and classes_ (LogisticRegression, "
             "RandomForestClassifier, HistGradientBoostingClassifier, a Pipeline ending in one, ...)")


class PackageError(ValueError):
    """A version that cannot be packaged; the message is the one line a person reads."""


@dataclass(frozen=True)
class Labelled:
    """Rows with their true classes, from a data file's feature and label columns."""

    X: pd.DataFrame
    y: np.ndarray


def check_names(name: str, version: str) -> None:
    """Refuse a model name or version that would not fit a URL, a label or an object name."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise PackageError(f"model name {name!r}: use 1-32 lower-case letters, digits and '-', starting with a letter")
    if not re.fullmatch(VERSION_PATTERN, version):
        raise PackageError(f"version {version!r}: use 1-32 lower-case letters, digits and '-' (v2, v2-rc1)")


def check_classifier_type(estimator: object) -> None:
    """Refuse a regressor, or anything without predict, before it is fitted or loaded into a runtime."""
    kind = type(estimator).__name__
    if not callable(getattr(estimator, "predict", None)):
        raise PackageError(f"{kind} has no predict; {SUPPORTED}")
    try:
        regressor, classifier = is_regressor(estimator), is_classifier(estimator)
    except Exception:  # noqa: BLE001 - scikit-learn's tags of an object that is no estimator raise
        regressor = classifier = False
    if regressor:
        raise PackageError(f"{kind} is a regressor; {SUPPORTED}")
    if not classifier:
        raise PackageError(f"{kind} is not a scikit-learn classifier; {SUPPORTED}")


def check_classifier(estimator: object) -> None:
    """Refuse anything but a fitted classifier, in one line that says what is supported."""
    check_classifier_type(estimator)
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise PackageError(f"{type(estimator).__name__} is not fitted; fit it first ({SUPPORTED})") from None


def _trusted(untrusted: list[str], trust: list[str], what: str) -> list[str]:
    """``untrusted`` when every one of them is in ``trust``; else a PackageError naming the others."""
    refused = [name for name in untrusted if name not in trust]
    if refused:
        flags = " ".join(f"--trust {name}" for name in refused)
        raise PackageError(f"{what} holds types skops does not trust by default: {', '.join(refused)}; "
                           f"load it only if you trust them, with {flags}")
    return list(untrusted)


def trusted_for(path: Path, trust: list[str]) -> list[str]:
    """The types beyond skops' defaults the file holds, once each is known to be in ``trust``."""
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except FileNotFoundError:
        raise PackageError(f"{path}: no such file") from None
    except Exception as exc:  # noqa: BLE001 - skops raises several types for a file that is not its own
        raise PackageError(f"{path} is not a skops file: {exc}") from None
    return _trusted(untrusted, trust, str(path))


def load_skops(path: Path, trust: list[str]) -> object:
    """Load a skops file trusting only skops' defaults and the types named in ``trust``."""
    return sio.load(path, trusted=trusted_for(path, trust))


def needed_trust(estimator: object, trust: list[str]) -> list[str]:
    """The types beyond skops' defaults the runtimes must trust to load ``estimator``; each must be in ``trust``."""
    untrusted = sio.get_untrusted_types(data=sio.dumps(estimator))
    return sorted(_trusted(untrusted, trust, f"the fitted {type(estimator).__name__}"))


def build_from_class(spec: str, seed: int) -> tuple[object, str]:
    """An unfitted estimator from ``module:Class`` (a class with ``build(seed)``, like models.versions.ModelV1)."""
    module_name, _, class_name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise PackageError(f"--class {spec}: cannot import it ({exc}); give module:Class") from None
    if not callable(getattr(cls, "build", None)):
        raise PackageError(f"--class {spec} has no build(seed) returning an unfitted estimator")
    return cls.build(seed), str(getattr(cls, "description", "") or cls.__doc__ or class_name).strip()


def labelled(path: Path, features: list[str], label: str) -> Labelled:
    """A data file's rows, checked against the features, with its label column; rows with a gap are refused."""
    table = tables.read(path)
    tables.check(table, features, label)
    gaps = int(tables.incomplete(table, features, label).sum())
    if gaps:
        raise PackageError(f"{path}: {gaps} rows have a missing value; fill or drop them first")
    return Labelled(table[features], table[label].to_numpy())


def as_classes(estimator, labels: np.ndarray, what: str) -> np.ndarray:
    """Labels as the estimator's own classes, matched as the runtimes answer them (``str(class)``)."""
    by_name = {str(c): c for c in estimator.classes_}
    unknown = sorted({str(v) for v in labels} - set(by_name))
    if unknown:
        raise PackageError(f"{what} has labels the model does not know: {', '.join(unknown[:5])} "
                           f"(its classes: {', '.join(by_name)})")
    return np.asarray([by_name[str(v)] for v in labels])


def scores(estimator, data: Labelled, what: str = "the hold-out") -> dict[str, float]:
    """Offline metrics on a labelled hold-out: accuracy, macro F1, and log loss where there is predict_proba."""
    y = as_classes(estimator, data.y, what)
    predicted = estimator.predict(data.X)
    found = {"test_accuracy": round(float(accuracy_score(y, predicted)), 4),
             "test_macro_f1": round(float(f1_score(y, predicted, average="macro")), 4),
             "test_rows": len(y)}
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(data.X)
        found["test_log_loss"] = round(float(log_loss(y, proba, labels=estimator.classes_)), 4)
    return found


def feature_names(estimator, given: list[str] | None) -> list[str]:
    """The features in the estimator's order: its own ``feature_names_in_``, which names given must equal."""
    own = [str(n) for n in getattr(estimator, "feature_names_in_", [])]
    if given and own and given != own:
        raise PackageError(f"--features {','.join(given)} differ from the names the estimator was fitted with: "
                           f"{','.join(own)}")
    if not (given or own):
        raise PackageError("the estimator was fitted without feature names: name them with --features a,b,...")
    names, width = list(given or own), getattr(estimator, "n_features_in_", None)
    if width is not None and len(names) != width:
        raise PackageError(f"{len(names)} feature names ({','.join(names[:3])},...) for an estimator fitted on "
                           f"{width} features: name them with --features")
    return names


def write(estimator, name: str, version: str, out: Path, *, features: list[str], description: str,
          metrics: dict[str, float], trust: list[str], seed: int = 0) -> artifacts.Metadata:
    """Write the artifact ``out/<version>`` with its metadata (sha256 included); return the metadata. The types
    the runtimes will trust are those it needs, each of which must be in ``trust``."""
    trusted = needed_trust(estimator, trust)
    metadata = artifacts.Metadata(
        version=version, description=description or repr(estimator)[:200],
        classes=[str(c) for c in estimator.classes_], feature_names=features, metrics=metrics, sha256="",
        seed=seed, sklearn_version=sklearn.__version__, name=name, trusted_types=trusted,
    )
    artifacts.save(estimator, metadata, out)
    return metadata
