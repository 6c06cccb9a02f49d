"""Request bodies: the demo's wine rows, pre-encoded, and a few deliberately malformed ones (loadgen.datafile replays a
person's own rows)."""

import json
import random
from dataclasses import dataclass

from models import dataset

PROTOCOLS = ("v2", "seldon")


@dataclass(frozen=True)
class Payload:
    """A request body ready to send, with the true class of its rows when known."""

    body: bytes
    valid: bool
    truth: tuple[str, ...] = ()


def path_for(protocol: str, model: str) -> str:
    """The inference path below the target's base URL."""
    if protocol == "v2":
        return f"/v2/models/{model}/infer"
    if protocol == "seldon":
        return "/api/v1.0/predictions"
    raise ValueError(f"unknown protocol {protocol!r}; use v2 or seldon")


def _v2(rows: list[list], datatype: str = "FP64", width: int = 0) -> dict:
    flat = [value for row in rows for value in row]
    shape = [len(rows), len(rows[0]) if rows else width]
    return {"inputs": [{"name": "features", "shape": shape, "datatype": datatype, "data": flat}]}


def _seldon(rows: list[list[float]], names: list[str] | None) -> dict:
    return {"data": {"ndarray": rows} if names is None else {"names": names, "ndarray": rows}}


def _encode(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def encode_rows(protocol: str, rows: list[list[float]], names: list[str] | None = None) -> bytes:
    """A valid request body for these rows in ``protocol`` (v2 or seldon; feature names only when given)."""
    if protocol == "v2":
        return _encode(_v2(rows))
    if protocol == "seldon":
        return _encode(_seldon(rows, names))
    raise ValueError(f"unknown protocol {protocol!r}; use v2 or seldon")


def invalid_bodies(protocol: str, row: list, names: list[str]) -> list[bytes]:
    """One of each mistake a client makes; every one must be a 4xx, never a 5xx."""
    short = row[:-1]
    if protocol == "v2":
        return [
            _encode(_v2([short])),                                   # wrong feature count
            _encode(_v2([[str(v) for v in row]], "BYTES")),          # wrong datatype
            _encode(_v2([], "FP64", len(row))),                      # empty batch
            _encode({"inputs": [{"name": "features", "shape": [1, len(row)], "datatype": "FP64",
                                 "data": ["NaN"] * len(row)}]}),
            b'{"inputs": [',                                         # malformed JSON
        ]
    return [
        _encode(_seldon([short], names[:-1])),
        _encode({"data": {"ndarray": [["a"] * len(row)]}}),
        _encode({"data": {"ndarray": []}}),
        b'{"data": {"ndarray": [',
    ]


class PayloadPool:
    """Draws bodies with a seeded RNG: ``invalid_ratio`` of them malformed."""

    def __init__(self, protocol: str, rng: random.Random, invalid_ratio: float = 0.0, batch_rows: int = 1):
        if not 0.0 <= invalid_ratio <= 1.0:
            raise ValueError(f"--invalid-ratio {invalid_ratio} is outside 0..1")
        data = dataset.load()
        rows = [[float(v) for v in row] for row in data.X]
        names = data.feature_names
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; use v2 or seldon")
        truth = data.truth()
        self._valid = [Payload(encode_rows(protocol, rows[i:i + batch_rows], names), True, tuple(truth[i:i + batch_rows]))
                       for i in range(len(rows) - batch_rows + 1)]
        self._invalid = invalid_bodies(protocol, rows[0], names)
        self._rng = rng
        self._invalid_ratio = invalid_ratio

    def draw(self) -> Payload:
        """The next payload: a real row, or a malformed one at --invalid-ratio."""
        if self._invalid_ratio and self._rng.random() < self._invalid_ratio:
            return Payload(self._rng.choice(self._invalid), valid=False)
        return self._rng.choice(self._valid)
