"""Requests replayed from a person's data file, checked first against the feature names the model publishes."""

import argparse
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from loadgen.payloads import Payload, encode_rows, invalid_bodies
from loadgen.settings import LoadgenSettings
from models import tables

MISSING_CHOICES = ("skip", "send")
ORDERS = ("file", "shuffle")


class NothingAnswers(Exception):
    """No server answered at the target at all (refused, unresolvable, timed out)."""


class NoFeatures(Exception):
    """The target answers but publishes no feature names (another server, or a policy in the way): why, in words."""


@dataclass(frozen=True)
class Replay:
    """How to replay a file: the columns to send and to score by, and what to do with a row with a gap."""

    path: Path
    label_column: str | None = None
    order: str = "file"
    missing: str = "skip"


def metadata_url(target: str, protocol: str, model: str) -> str:
    """Where the runtime publishes its model's metadata (MLServer's V2 model metadata; the Seldon wrapper's)."""
    base = target.rstrip("/")
    return f"{base}/v2/models/{model}" if protocol == "v2" else f"{base}/api/v1.0/metadata"


def feature_names_in(protocol: str, doc) -> list[str] | None:
    """The feature names a metadata answer gives (servers.mlserver_runtime, servers.seldon_runtime), if any."""
    try:
        first = doc["inputs"][0]
        names = first["parameters"]["feature_names"] if protocol == "v2" else first["schema"]["names"]
    except (KeyError, IndexError, TypeError):
        return None
    return [str(n) for n in names] if isinstance(names, list) and names else None


def published_features(url: str, protocol: str, headers: dict[str, str], timeout_s: float) -> list[str]:
    """The model's feature names from the target; NoFeatures when it publishes none, NothingAnswers when nothing
    listens, a ValueError when it has no such model."""
    try:
        response = httpx.get(url, headers=headers, timeout=timeout_s)
    except httpx.TransportError as exc:
        raise NothingAnswers(f"nothing answers at {url}: {exc or type(exc).__name__}") from None
    if response.status_code == 404 and protocol == "v2":
        raise ValueError(f"{url} answers 404: the target serves no such model; set --model to its name")
    if response.status_code != 200:
        raise NoFeatures(f"answers HTTP {response.status_code}")
    try:
        names = feature_names_in(protocol, response.json())
    except ValueError:
        names = None
    if names is None:
        raise NoFeatures("names no features")
    return names


def add_flags(p: argparse.ArgumentParser, defaults: LoadgenSettings) -> None:
    """--data and how to replay it."""
    p.add_argument("--data", type=Path, default=Path(defaults.data) if defaults.data else None,
                   help="replay this file's rows (CSV, Parquet, JSON lines), checked against the model's features")
    p.add_argument("--label-column", default=defaults.label_column or None,
                   help="the --data column holding each row's true class (for accuracy and feedback)")
    p.add_argument("--order", choices=ORDERS, default=defaults.order,
                   help="replay in the file's order or shuffled with --seed; both loop (default %(default)s)")
    p.add_argument("--missing", choices=MISSING_CHOICES, default=defaults.missing,
                   help="rows with a missing value: skip them, or send them (the runtime answers 400); "
                   "counted either way (default %(default)s)")


def pool_for(args: argparse.Namespace, headers: dict[str, str], timeout_s: float) -> "ReplayPool":
    """The --data file's rows, after checking its columns against the features the target names."""
    rng = random.Random(args.seed)
    replay = Replay(args.data, args.label_column, args.order, args.missing)
    url = metadata_url(args.target, args.protocol, args.model)
    try:
        features = published_features(url, args.protocol, headers, timeout_s)
    except NoFeatures as why:
        table = tables.read(args.data)
        features = [str(c) for c in table.columns if c != args.label_column]
        print(f"loadgen: {url} {why}: sending {args.data}'s columns in file order, unchecked", file=sys.stderr)
    pool = ReplayPool(args.protocol, replay, features, rng, args.invalid_ratio, args.batch_rows)
    if pool.rows_with_gaps:
        done = "skipped" if args.missing == "skip" else "sent (answered 400)"
        print(f"loadgen: {pool.rows_with_gaps} of {pool.rows_in_file} rows of {args.data} have a missing value: "
              f"{done}", file=sys.stderr)
    return pool


class ReplayPool:
    """Draws the file's rows in order (or shuffled with the seed), looping at its end: the same API as PayloadPool."""

    def __init__(self, protocol: str, replay: Replay, features: list[str], rng: random.Random,
                 invalid_ratio: float = 0.0, batch_rows: int = 1):
        table = tables.read(replay.path)
        tables.check(table, features, replay.label_column)
        gaps = tables.incomplete(table, features, replay.label_column)
        self.rows_in_file, self.rows_with_gaps = len(table), int(gaps.sum())
        if replay.missing == "skip":
            table = table[~gaps]
        if table.empty:
            raise tables.TableError(f"{replay.path}: no rows to send ({self.rows_with_gaps} have a missing value)")
        X = tables.feature_rows(table, features)
        truth = _labels(table[replay.label_column].to_numpy()) if replay.label_column else [""] * len(X)
        order = list(range(len(X)))
        if replay.order == "shuffle":
            rng.shuffle(order)
        rows = [[_jsonable(v) for v in X[i]] for i in order]
        labels = [truth[i] for i in order]
        # Each row once per pass, batch_rows at a time; a batch with a row whose label is missing is not scored.
        self._bodies = [Payload(encode_rows(protocol, rows[i:i + batch_rows], features), True,
                                _truth(labels[i:i + batch_rows]) if replay.label_column else ())
                        for i in range(0, len(rows) - batch_rows + 1, batch_rows)]
        if not self._bodies:
            raise tables.TableError(f"{replay.path}: {len(rows)} rows to send, fewer than --batch-rows {batch_rows}")
        self._invalid = invalid_bodies(protocol, rows[0], features)
        self._rng, self._invalid_ratio, self._next = rng, invalid_ratio, 0

    def draw(self) -> Payload:
        """The next row of the file (from the start again after its last), or a malformed body at --invalid-ratio."""
        if self._invalid_ratio and self._rng.random() < self._invalid_ratio:
            return Payload(self._rng.choice(self._invalid), valid=False)
        payload = self._bodies[self._next]
        self._next = (self._next + 1) % len(self._bodies)
        return payload


def _truth(labels: list[str]) -> tuple[str, ...]:
    return () if "" in labels else tuple(labels)


def _labels(values: np.ndarray) -> list[str]:
    """Labels as the runtimes answer them (str of the class); 1.0 read from a column with gaps is the class 1."""
    if values.dtype.kind == "f" and np.all(np.isnan(values) | (values == np.round(values))):
        return ["" if np.isnan(v) else str(int(v)) for v in values]
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values]


def _jsonable(value: float) -> float | None:
    """A gap goes out as JSON null (the runtime refuses it with a 400), never as the invalid literal NaN."""
    return None if np.isnan(value) else float(value)
