"""A linear model's predict without scikit-learn's per-call validation.

``estimator.predict`` on one row spends most of its time validating input
(``python -m bench.percall`` measures both paths); the servers validate once
themselves, so for the linear models we ship the class is
``argmax(X @ W.T + b)`` with W and b folded from the fitted estimator at load.
Anything else, or a server started with ``MODEL_FAST_PATH=false``, calls
``estimator.predict``.
"""

from collections.abc import Callable

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

Predict = Callable[[np.ndarray], np.ndarray]


def _linear_parts(estimator) -> tuple[np.ndarray, np.ndarray] | None:
    if isinstance(estimator, LogisticRegression):
        return estimator.coef_, estimator.intercept_
    if isinstance(estimator, Pipeline) and len(estimator.steps) == 2:
        scaler, final = estimator.steps[0][1], estimator.steps[1][1]
        if isinstance(scaler, StandardScaler) and isinstance(final, LogisticRegression):
            mean = scaler.mean_ if scaler.with_mean else 0.0
            scale = scaler.scale_ if scaler.with_std else 1.0
            # (X - mean) / scale @ W.T + b  ==  X @ (W / scale).T + (b - (mean / scale) @ W.T)
            weights = final.coef_ / scale
            bias = final.intercept_ - (mean / scale) @ final.coef_.T
            return weights, np.atleast_1d(bias)
    return None


def compile_predict(estimator, fast: bool = True) -> Predict:
    """A function from validated float rows to class indices; ``fast=False`` always calls ``estimator.predict``."""
    parts = _linear_parts(estimator) if fast else None
    if parts is None:
        classes = list(estimator.classes_)
        return lambda X: np.searchsorted(classes, estimator.predict(X))
    weights_t, bias = np.ascontiguousarray(parts[0].T), parts[1]
    if weights_t.shape[1] == 1:  # binary: one score, positive means the second class
        return lambda X: ((X @ weights_t + bias)[:, 0] > 0).astype(np.intp)
    return lambda X: np.argmax(X @ weights_t + bias, axis=1)
