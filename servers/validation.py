"""Input checks shared by every runtime: each failure is an InvalidInput naming the problem."""

import math

import numpy as np

from servers.errors import InvalidInput

NUMERIC_DATATYPES = frozenset(
    {"UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64"}
)
MAX_BATCH_ROWS = 10_000


def rows_from_tensor(name: str, shape: list[int], datatype: str, data, n_features: int) -> np.ndarray:
    """Rows from an Open Inference Protocol tensor (shape, datatype, flat or nested data)."""
    if datatype not in NUMERIC_DATATYPES:
        raise InvalidInput(
            f"input '{name}' has datatype {datatype}; expected a numeric type such as FP32 or FP64"
        )
    if len(shape) != 2:
        raise InvalidInput(
            f"input '{name}' has shape {list(shape)}; expected [rows, {n_features}]"
        )
    values = _as_float(data, f"input '{name}'")
    expected = math.prod(shape)
    if values.size != expected:
        raise InvalidInput(
            f"input '{name}' has {values.size} values but shape {list(shape)} needs {expected}"
        )
    return check_rows(values.reshape(shape), n_features, f"input '{name}'")


def rows_from_array(data, n_features: int, what: str = "input") -> np.ndarray:
    """Rows from a nested list such as Seldon's ``ndarray``; one flat row is accepted."""
    values = _as_float(data, what)
    if values.size == 0:
        raise InvalidInput(f"{what} is an empty batch (0 rows); send at least one row")
    if values.ndim == 1 and values.size == n_features:
        values = values.reshape(1, n_features)
    return check_rows(values, n_features, what)


def check_rows(X: np.ndarray, n_features: int, what: str = "input") -> np.ndarray:
    """Check a float array is a non-empty [rows, n_features] batch of finite numbers."""
    if X.ndim != 2:
        raise InvalidInput(f"{what} has shape {list(X.shape)}; expected [rows, {n_features}]")
    rows, cols = X.shape
    if rows == 0:
        raise InvalidInput(f"{what} is an empty batch (0 rows); send at least one row")
    if rows > MAX_BATCH_ROWS:
        raise InvalidInput(f"{what} has {rows} rows; at most {MAX_BATCH_ROWS} per request")
    if cols != n_features:
        raise InvalidInput(f"{what} has {cols} features per row; the model expects {n_features}")
    if not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        raise InvalidInput(
            f"{what} has a NaN or infinite value at row {bad[0]}, feature {bad[1]}; "
            "every feature must be a finite number"
        )
    return X


def _as_float(data, what: str) -> np.ndarray:
    try:
        return np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{what} is not a rectangular array of numbers ({exc})"
        ) from None
