"""A linear model's predict without scikit-learn's per-call validation.

``estimator.predict`` on one row spends most of its time validating input
(``python -m bench.percall`` measures both paths); the servers validate once
themselves, so for the linear models we ship the class is
``argmax(X @ W.T + b)`` with W and b folded from the fitted estimator at load.
Anything else, or a server started with ``MODEL_FAST_PATH=false``, calls
``estimator.predict``.
"""

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.compose import ColumnTransformer
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


def _needs_table(estimator) -> bool:
    """Whether a ColumnTransformer in it selects columns by name, which scikit-learn does only on a table
    (sklearn/compose/_column_transformer.py: "Specifying the columns using strings is only supported for
    dataframes")."""
    parts = [step for _, step in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]
    return any(isinstance(columns, str) or (isinstance(columns, list | tuple) and any(isinstance(c, str) for c in columns))
               for part in parts if isinstance(part, ColumnTransformer) for _, _, columns in part.transformers_)


def _general_predict(estimator) -> Predict:
    """``estimator.predict`` for any classifier, mapped to indices into its ``classes_`` (sorted: np.unique's)."""
    classes = estimator.classes_
    names = getattr(estimator, "feature_names_in_", None)
    if names is None or not _needs_table(estimator):
        if names is not None:
            # Fitted on a table: the servers hand over rows in its column order, so scikit-learn's warning
            # that bare rows carry no names says nothing here, on every request.
            warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
        return lambda X: np.searchsorted(classes, estimator.predict(X))
    # A table costs about as much again as a gradient-boosting model's own predict: only when it must.
    import pandas as pd  # only here: the wine demo never needs it

    columns = list(names)
    return lambda X: np.searchsorted(classes, estimator.predict(pd.DataFrame(X, columns=columns)))


def compile_predict(estimator, fast: bool = True) -> Predict:
    """A function from validated float rows to class indices; ``fast=False`` always calls ``estimator.predict``."""
    parts = _linear_parts(estimator) if fast else None
    if parts is None:
        return _general_predict(estimator)
    weights_t, bias = np.ascontiguousarray(parts[0].T), parts[1]
    if weights_t.shape[1] == 1:  # binary: one score, positive means the second class
        return lambda X: ((X @ weights_t + bias)[:, 0] > 0).astype(np.intp)
    return lambda X: np.argmax(X @ weights_t + bias, axis=1)
