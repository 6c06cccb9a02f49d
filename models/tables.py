"""A person's data file (CSV, Parquet or JSON lines) as a table, with feature columns checked against a model's."""

from pathlib import Path

import numpy as np
import pandas as pd

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "json", ".ndjson": "json", ".json": "json"}


class TableError(ValueError):
    """A data file that cannot be read, or whose columns do not fit the model: the message says which."""


def read(path: Path) -> pd.DataFrame:
    """The file's rows; the format follows the suffix (.csv, .parquet, .jsonl; .json is read as JSON lines)."""
    path = Path(path)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise TableError(f"{path}: unknown format {path.suffix or '(no suffix)'}; use .csv, .parquet or .jsonl")
    try:
        if kind == "csv":
            return pd.read_csv(path)
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_json(path, lines=True)
    except FileNotFoundError:
        raise TableError(f"{path}: no such file") from None
    except ImportError as exc:  # Parquet needs pyarrow, which the loadgen extra installs
        raise TableError(f"{path}: cannot read Parquet here ({exc}); install ml-canary[loadgen]") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise TableError(f"{path}: not a readable {kind} file ({exc})") from None


def problems(table: pd.DataFrame, features: list[str], label: str | None = None) -> list[str]:
    """What keeps the table's columns from being the model's features: missing, extra, not numeric."""
    found: list[str] = []
    missing = [name for name in features if name not in table.columns]
    if missing:
        found.append(f"missing {', '.join(missing)}")
    if label is not None and label not in table.columns:
        found.append(f"no label column {label}")
    extra = [str(c) for c in table.columns if c not in features and c != label]
    if extra:
        found.append(f"extra {', '.join(extra)} (not a feature of the model)")
    wrong = [f"{name} ({table[name].dtype})" for name in features
             if name in table.columns and not pd.api.types.is_numeric_dtype(table[name])]
    if wrong:
        found.append(f"not numeric: {', '.join(wrong)}")
    return found


def check(table: pd.DataFrame, features: list[str], label: str | None = None) -> None:
    """Raise a TableError naming every column problem at once."""
    found = problems(table, features, label)
    if found:
        raise TableError("columns do not fit the model: " + "; ".join(found))


def feature_rows(table: pd.DataFrame, features: list[str]) -> np.ndarray:
    """The feature columns in the model's order, as floats."""
    return table[features].to_numpy(dtype=np.float64)


def incomplete(table: pd.DataFrame, features: list[str], label: str | None = None) -> np.ndarray:
    """A mask of the rows with a missing feature (or label) value."""
    columns = features + ([label] if label is not None else [])
    return table[columns].isna().any(axis=1).to_numpy()
