"""A Seldon model class with nothing of ours but the prediction: the baseline for the wrapper's own cost."""

from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from models import artifacts, fastpath
from servers.settings import SeldonSettings


class BareSeldonModel:
    """Loads the artifact and predicts: no validation, faults, metrics or tags."""

    def __init__(self, **parameters):
        self._settings = SeldonSettings(**parameters)

    def load(self) -> None:
        """Load the artifact and compile its predict, as the real class does."""
        estimator, meta = artifacts.load(Path(self._settings.artifacts) / self._settings.version)
        threadpool_limits(self._settings.threads)  # as ours: the thread limit is serving, not metrics or faults
        self._predict = fastpath.compile_predict(estimator, self._settings.fast_path)
        self._classes = list(meta.classes)

    def predict(self, X, features_names=None, meta=None):
        """Class names for the rows."""
        labels = [self._classes[i] for i in self._predict(np.asarray(X, dtype=float)).tolist()]  # as ours maps them
        return np.array(labels, dtype=object).reshape(-1, 1)

