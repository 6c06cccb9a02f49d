"""Our metrics as the Seldon wrapper wants them: a list of COUNTER/GAUGE/TIMER dicts.

The wrapper asks a model that has ``metrics()`` for custom metrics after every
successful call and files them in its metrics object through a multiprocessing
manager: six round trips on every request, even for an empty list
(``python -m bench.seldon`` measures batches against that). So the model has no
``metrics()``: events are buffered and a thread of each worker hands them to the
wrapper's object every ``flush_s``; a failed call hands its events over at once
(``export_now``), so errors show even when no call succeeds. Every key always
carries the same tag keys.
"""

import os
import sys
import threading
import time

from servers import metrics as names


class BufferedMetrics:
    """Same interface as ``servers.metrics.ModelMetrics``; ``drain()`` hands over what happened."""

    def __init__(self, flush_s: float = 0.1):
        self._lock = threading.Lock()
        self._pending: list[dict] = []
        self._info: dict | None = None
        self._flush_s = flush_s
        self._flusher_pid: int | None = None

    def _add(self, entry: dict) -> None:
        with self._lock:
            self._pending.append(entry)

    def export_now(self, method: str = "predict") -> bool:
        """Give the buffered events to the wrapper now, from a call that is about to fail."""
        wrapper = _wrapper_metrics(sys._getframe(1))
        if wrapper is not None:
            wrapper.update(self.drain(), method)
        return wrapper is not None

    def attach(self) -> None:
        """From a model method the wrapper called: start this worker's flusher, once (threads do not survive a fork)."""
        if self._flusher_pid == os.getpid():
            return
        wrapper = _wrapper_metrics(sys._getframe(1))
        if wrapper is not None:
            self._flusher_pid = os.getpid()
            _serialise_updates(wrapper)
            threading.Thread(target=self._flush_forever, args=(wrapper,), name="metrics", daemon=True).start()

    def _flush_forever(self, wrapper) -> None:
        while True:
            time.sleep(self._flush_s)
            with self._lock:
                idle = not self._pending
            if not idle:
                wrapper.update(self.drain(), "predict")

    def set_info(self, artifact_sha256: str, runtime: str) -> None:
        """The info gauge: which artifact and runtime serve."""
        self._info = {"type": "GAUGE", "key": names.MODEL_INFO, "value": 1,
                      "tags": {"artifact_sha256": artifact_sha256, "runtime": runtime}}

    def observe(self, outcome: str, duration_s: float) -> None:
        """Count one request by outcome and time it."""
        self._add({"type": "COUNTER", "key": names.REQUESTS, "value": 1, "tags": {"outcome": outcome}})
        # TIMER values are milliseconds; the wrapper divides by 1000 into a seconds histogram.
        self._add({"type": "TIMER", "key": names.DURATION, "value": duration_s * 1000, "tags": {}})

    def count_predictions(self, labels: list[str]) -> None:
        """Count the classes answered."""
        for name in set(labels):
            self._add({"type": "COUNTER", "key": names.PREDICTIONS, "value": labels.count(name),
                       "tags": {"predicted_class": name}})

    def count_fault(self, kind: str) -> None:
        """Count one injected fault by kind."""
        self._add({"type": "COUNTER", "key": names.FAULTS, "value": 1, "tags": {"kind": kind}})

    def count_feedback(self, correct: int, incorrect: int) -> None:
        """Count rows whose truth came back; a zero is left out, as the wrapper's proto round trip drops it."""
        for outcome, n in zip(names.FEEDBACK_OUTCOMES, (correct, incorrect), strict=True):
            if n:
                self._add({"type": "COUNTER", "key": names.FEEDBACK, "value": n, "tags": {"outcome": outcome}})

    def drain(self) -> list[dict]:
        """Everything since the last drain, plus the info gauge."""
        with self._lock:
            pending, self._pending = self._pending, []
        # Fresh tag dicts: the wrapper adds a "method" tag to the dicts it is given.
        out = [{**entry, "tags": dict(entry["tags"])} for entry in pending]
        if self._info:
            out.append({**self._info, "tags": dict(self._info["tags"])})
        return out


def _wrapper_metrics(frame):
    """The wrapper's SeldonMetrics object, found in a caller's frames.

    NOTE: seldon-core 1.18 reads custom metrics only from a successful response
    (seldon_methods.predict -> handle_raw_custom_metrics) and passes its
    SeldonMetrics object to no model method.
    """
    while frame is not None:
        candidate = frame.f_locals.get("seldon_metrics")
        if candidate is not None and callable(getattr(candidate, "update", None)):
            return candidate
        frame = frame.f_back
    return None


def _serialise_updates(wrapper) -> None:
    """Make the wrapper's ``update`` one call at a time in this process.

    NOTE: seldon-core 1.18's SeldonMetrics.update (seldon_core/metrics.py) reads the
    worker's data under its lock and writes it back under a second acquisition, so
    two threads of one worker (our flusher and a request) would lose one's counts.
    The wrapper has no hook for this; its object's ``update`` is wrapped in place.
    """
    if getattr(wrapper, "_mlcanary_serialised", False):
        return
    update, lock = wrapper.update, threading.Lock()

    def serialised(custom_metrics, method):
        with lock:
            return update(custom_metrics, method)

    wrapper.update = serialised
    wrapper._mlcanary_serialised = True
