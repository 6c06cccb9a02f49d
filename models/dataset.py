"""The wine data set that ships with scikit-learn: 178 rows, 13 named features, 3 classes."""

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

TEST_SIZE = 0.3


@dataclass(frozen=True)
class Dataset:
    """Feature rows and labels split once, with the names a client sees."""

    feature_names: list[str]
    class_names: list[str]
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray

    @property
    def X(self) -> np.ndarray:
        """The feature rows in the models' column order."""
        return np.concatenate([self.X_train, self.X_test])

    @property
    def y(self) -> np.ndarray:
        """The true class index of every row of ``X``."""
        return np.concatenate([self.y_train, self.y_test])

    def truth(self) -> list[str]:
        """The true class name of every row of ``X``, as the models answer it."""
        return [self.class_names[i] for i in self.y]


def load(seed: int = 42) -> Dataset:
    """Load wine and split it stratified, so both versions are scored on the same rows."""
    bunch = load_wine()
    X_train, X_test, y_train, y_test = train_test_split(
        bunch.data, bunch.target, test_size=TEST_SIZE, stratify=bunch.target, random_state=seed
    )
    return Dataset(
        feature_names=list(bunch.feature_names),
        class_names=[str(name) for name in bunch.target_names],
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
    )
