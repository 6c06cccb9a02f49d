"""Our metrics as the Seldon wrapper wants them: a list of COUNTER/GAUGE/TIMER dicts from ``metrics()``.

The wrapper calls ``metrics()`` only after a successful ``predict`` (and on
``/health/status``), so events are buffered until then: an injected error is
exported with the next successful call. Every key always carries the same tag keys.
"""

import threading

from servers import metrics as names


class BufferedMetrics:
    """Same interface as ``servers.metrics.ModelMetrics``; ``drain()`` hands over what happened."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending: list[dict] = []
        self._info: dict | None = None

    def _add(self, entry: dict) -> None:
        with self._lock:
            self._pending.append(entry)

    def set_info(self, artifact_sha256: str, runtime: str) -> None:
        self._info = {"type": "GAUGE", "key": names.MODEL_INFO, "value": 1,
                      "tags": {"artifact_sha256": artifact_sha256, "runtime": runtime}}

    def observe(self, outcome: str, duration_s: float) -> None:
        self._add({"type": "COUNTER", "key": names.REQUESTS, "value": 1, "tags": {"outcome": outcome}})
        # TIMER values are milliseconds; the wrapper divides by 1000 into a seconds histogram.
        self._add({"type": "TIMER", "key": names.DURATION, "value": duration_s * 1000, "tags": {}})

    def count_predictions(self, labels: list[str]) -> None:
        for name in set(labels):
            self._add({"type": "COUNTER", "key": names.PREDICTIONS, "value": labels.count(name),
                       "tags": {"predicted_class": name}})

    def count_fault(self, kind: str) -> None:
        self._add({"type": "COUNTER", "key": names.FAULTS, "value": 1, "tags": {"kind": kind}})

    def drain(self) -> list[dict]:
        with self._lock:
            pending, self._pending = self._pending, []
        # Fresh tag dicts: the wrapper adds a "method" tag to the dicts it is given.
        out = [{**entry, "tags": dict(entry["tags"])} for entry in pending]
        if self._info:
            out.append({**self._info, "tags": dict(self._info["tags"])})
        return out
