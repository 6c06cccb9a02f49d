"""The runtime-independent core: validated rows in, class names out, faults and metrics applied."""

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

from models import artifacts, fastpath
from servers import faults, feedback
from servers.errors import InjectedFault, NotReady
from servers.metrics import OUTCOME_INJECTED, OUTCOME_INVALID, OUTCOME_OK, ModelMetrics

logger = logging.getLogger("ml_canary.predictor")


class Call(NamedTuple):
    """One inference call in flight: when it started and which faults it drew (a tuple: built on every request)."""

    started: float
    decision: faults.FaultDecision


class Predictor:
    """Scores rows with one model version; injects the configured faults; records metrics."""

    def __init__(
        self,
        artifact_dir: Path,
        metrics: ModelMetrics,
        fault_store: faults.FaultStore,
        rng: random.Random,
        runtime: str,
        clock: Callable[[], float] = time.perf_counter,
        fast_path: bool = True,
        threads: int = 1,
    ):
        estimator, self.metadata = artifacts.load(artifact_dir)
        threadpool_limits(threads)  # process-wide, for the OpenMP and BLAS pools the estimator uses
        self._predict = fastpath.compile_predict(estimator, fast_path)
        self._metrics = metrics
        self._faults = fault_store
        self._rng = rng
        self._clock = clock
        self.classes = list(self.metadata.classes)
        # Plain attributes, not properties over the metadata: every request reads them.
        self.version: str = self.metadata.version
        """The model version this predictor serves."""
        self.n_features = len(self.metadata.feature_names)
        """How many features a row has."""
        self._warm_up()
        metrics.set_info(self.metadata.sha256, runtime)

    def _warm_up(self) -> None:
        """One prediction before the first request: lazy imports and thread pools start now, not in a user's
        request (a gradient-boosting model's first answers took over 10 ms)."""
        try:
            self._predict(np.zeros((1, self.n_features)))
        except Exception as exc:  # noqa: BLE001 - a row of zeros may be outside what the model takes; requests tell
            logger.warning("warm-up prediction of model version %s failed: %s", self.version, exc)

    def begin(self) -> Call:
        """Start a call: draw its faults. Once the input is valid, the caller sleeps ``delay_s(call)``."""
        return Call(self._clock(), faults.roll(self._faults.read(), self._rng))

    def delay_s(self, call: Call) -> float:
        """The injected delay for a valid call, counted and logged here: a refused call never sleeps."""
        if call.decision.delay_s > 0:
            self._metrics.count_fault(faults.KIND_LATENCY)
            logger.info(
                "injected fault: latency %.0f ms (model version %s)",
                call.decision.delay_s * 1000, self.version,
            )
        return call.decision.delay_s

    def reject(self, call: Call) -> None:
        """Record a call refused for bad input."""
        self._metrics.observe(OUTCOME_INVALID, self._clock() - call.started)

    def finish(self, call: Call, X: np.ndarray) -> list[str]:
        """Score validated rows, or raise the injected error the call drew."""
        if call.decision.fail:
            self._metrics.count_fault(faults.KIND_ERROR)
            self._metrics.observe(OUTCOME_INJECTED, self._clock() - call.started)
            logger.info("injected fault: error (model version %s)", self.version)
            raise InjectedFault(f"injected fault: error (model version {self.version})")
        indices = self._predict(X)
        if call.decision.wrong:
            # A different, valid class: the silent failure only accuracy checks catch.
            indices = (indices + 1) % len(self.classes)
            self._metrics.count_fault(faults.KIND_WRONG)
            logger.info("injected fault: wrong prediction (model version %s)", self.version)
        labels = [self.classes[i] for i in indices.tolist()]  # Python ints index a list faster than numpy's
        self._metrics.count_predictions(labels)
        self._metrics.observe(OUTCOME_OK, self._clock() - call.started)
        return labels

    def record_feedback(self, message: feedback.Feedback) -> dict:
        """Count feedback on this version's answers as correct or incorrect; 4xx errors count nothing."""
        correct, incorrect = feedback.score(message, self.classes, self.version)
        self._metrics.count_feedback(correct, incorrect)
        if message.request_id:
            logger.debug("feedback on request %s: %d correct, %d incorrect", message.request_id, correct, incorrect)
        return {"model_version": self.version, "correct": correct, "incorrect": incorrect}

    def check_ready(self) -> None:
        """Raise NotReady while the ``unready`` fault is on."""
        if self._faults.current().unready:
            raise NotReady(f"model version {self.version} is unready (fault injection)")

    def fault_config(self) -> faults.FaultConfig:
        """The live fault state."""
        return self._faults.current()

    @property
    def fault_settle_s(self) -> float:
        """How long after a change every process serving this version has seen it."""
        return self._faults.settle_s

    def update_faults(self, update: faults.FaultUpdate) -> faults.FaultConfig:
        """Apply an admin change; every worker process sees it within ``fault_settle_s``."""
        new = update.apply(self._faults.current())
        self._faults.write(new)
        logger.warning("fault state of model version %s set to %s", self.version, new.model_dump())
        return new
