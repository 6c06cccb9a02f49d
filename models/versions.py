"""The two model versions. v2 scales its features, which v1 does not, and that is the gain."""

from typing import Protocol

from sklearn.base import ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


class ModelVersion(Protocol):
    """What training needs of a version class: its name, its description and its unfitted estimator."""

    version: str
    description: str

    @staticmethod
    def build(seed: int) -> ClassifierMixin:
        """The version's unfitted estimator."""


class ModelV1:
    """Baseline: logistic regression on raw features, strongly regularised."""

    version = "v1"
    description = "LogisticRegression(C=0.01) on unscaled features"

    @staticmethod
    def build(seed: int) -> ClassifierMixin:
        """The version's unfitted estimator."""
        return LogisticRegression(C=0.01, max_iter=5000, random_state=seed)


class ModelV2:
    """Candidate: standardised features, then logistic regression."""

    version = "v2"
    description = "StandardScaler + LogisticRegression(C=1.0)"

    @staticmethod
    def build(seed: int) -> ClassifierMixin:
        """The version's unfitted estimator."""
        return Pipeline(
            [
                ("scale", StandardScaler()),
                ("classify", LogisticRegression(C=1.0, max_iter=1000, random_state=seed)),
            ]
        )


VERSIONS: dict[str, type[ModelVersion]] = {cls.version: cls for cls in (ModelV1, ModelV2)}


def get(version: str) -> type[ModelVersion]:
    """The model class for a version name, or a ValueError naming the known ones."""
    try:
        return VERSIONS[version]
    except KeyError:
        known = ", ".join(sorted(VERSIONS))
        raise ValueError(f"unknown model version {version!r}; known versions: {known}") from None
