"""The Seldon Core wrapper runtime: ``seldon-core-microservice servers.seldon_runtime.SeldonModel``.

Configured by ``MODEL_*`` (``servers.settings.SeldonSettings``) and ``FAULT_*``
variables. REST on 9000, gRPC on 5000, metrics on 6000 (the wrapper's defaults);
the fault admin endpoint on ``MODEL_ADMIN_PORT`` (9500).
"""

import logging
import os
import random
import time
from pathlib import Path

import numpy as np
from flask import has_request_context, request
from google.protobuf import json_format
from seldon_core.flask_utils import SeldonMicroserviceException
from seldon_core.user_model import SeldonNotImplementedError
from seldon_core.utils import json_to_seldon_message

from models import artifacts
from servers import admin_http, faults, feedback, seldon_tracing, tracing
from servers.answers import REQUEST_ID_HEADER, AnswerReporter, AnswerSettings
from servers.errors import InvalidInput, ServingError
from servers.metrics import OUTCOME_INJECTED, OUTCOME_INVALID, OUTCOME_OK
from servers.predictor import Predictor
from servers.seldon_metrics import BufferedMetrics
from servers.settings import FaultSettings, SeldonSettings
from servers.validation import rows_from_array

RUNTIME = "seldon"
logger = logging.getLogger("ml_canary.seldon")


class SeldonError(SeldonMicroserviceException):
    """The wrapper's HTTP error, with a message that also reaches gRPC callers.

    The wrapper's own exception has an empty ``str()``, and its gRPC server
    answers any exception as UNKNOWN with ``str()`` as the details.
    """

    def __str__(self) -> str:
        return self.message


def _http_error(exc: ServingError) -> SeldonError:
    reason = "MICROSERVICE_BAD_DATA" if exc.status_code < 500 else "MICROSERVICE_INTERNAL_ERROR"
    return SeldonError(str(exc), status_code=exc.status_code, reason=reason)


def check_envelope(request: dict) -> None:
    """A Seldon JSON message: ``data`` with ``ndarray`` or ``tensor``, or strData/jsonData/binData."""
    if not any(key in request for key in ("data", "strData", "jsonData", "binData")):
        raise InvalidInput("request needs one of data, strData, jsonData or binData")
    if "data" not in request:
        return
    data = request["data"]
    if not isinstance(data, dict):
        raise InvalidInput(f"'data' must be an object with ndarray or tensor, not {type(data).__name__}")
    if not isinstance(data.get("names", []), list) or not all(isinstance(n, str) for n in data.get("names", [])):
        raise InvalidInput("'data.names' must be a list of feature names")
    if "ndarray" in data:
        if not isinstance(data["ndarray"], list):
            raise InvalidInput("'data.ndarray' must be a list of rows")
    elif "tensor" in data:
        tensor = data["tensor"]
        if not (isinstance(tensor, dict) and isinstance(tensor.get("shape"), list) and isinstance(tensor.get("values"), list)):
            raise InvalidInput("'data.tensor' needs a 'shape' list and a 'values' list")
        if not all(isinstance(d, int) and d >= 0 for d in tensor["shape"]) or np.prod(tensor["shape"]) != len(tensor["values"]):
            raise InvalidInput(f"'data.tensor' shape {tensor['shape']} does not fit {len(tensor['values'])} values")
    else:
        raise InvalidInput("'data' needs 'ndarray' or 'tensor'")


class SeldonModel:
    """Serves one version of a packaged classifier (the wine demo's by default) through the Seldon Python wrapper."""

    def __init__(self, **parameters):
        # Runs once in the wrapper's main process, before it forks the REST, gRPC
        # and admin processes, so they all share this fault store.
        self._settings = SeldonSettings(**parameters)
        self._artifact = artifacts.read_metadata(Path(self._settings.artifacts) / self._settings.version)
        self._settings.name = self._settings.name or self._artifact.name
        fault_settings = FaultSettings()
        owner = os.getpid()
        path = fault_settings.state_file or faults.default_state_file(self._settings.name, self._settings.version, owner)
        self._store = faults.FaultStore(Path(path), owner, fault_settings.recheck_s)
        self._store.initialise(faults.FaultConfig.from_settings(fault_settings))
        self._admin_token = fault_settings.resolved_admin_token()
        self._seed = fault_settings.seed
        self._metrics = BufferedMetrics(self._settings.metrics_flush_s)
        self._answers = AnswerReporter(AnswerSettings())
        self._predictor: Predictor | None = None
        self._tracing, self._revision = seldon_tracing.enabled(), tracing.revision()
        if self._tracing:
            seldon_tracing.install()

    def load(self) -> None:
        """Load the artifact, checked, with metrics and the fault switch wired in."""
        folder = Path(self._settings.artifacts) / self._settings.version
        self._predictor = Predictor(folder, self._metrics, self._store, random.Random(self._seed), RUNTIME,
                                    fast_path=self._settings.fast_path, threads=self._settings.threads)
        logger.info("serving %s version %s from %s", self._settings.name, self._predictor.version, folder)

    def predict_raw(self, request):
        """Check the REST envelope, then hand back to the wrapper's usual path.

        The wrapper answers a malformed envelope such as ``{"data": 5}`` with a 500
        from inside its own parsing; this turns those into a 400 first.
        """
        if isinstance(request, dict):
            try:
                check_envelope(request)
            except InvalidInput as exc:
                call = self._predictor.begin()
                self._predictor.reject(call)
                self._trace(call, OUTCOME_INVALID)
                self._metrics.export_now()
                raise _http_error(exc) from None
        raise SeldonNotImplementedError("continue with predict()")

    def predict(self, X, features_names=None, meta=None):
        """Validate, apply the drawn faults, score: the wrapper's predict."""
        predictor = self._predictor
        self._metrics.attach()
        call = predictor.begin()
        try:
            rows = self._rows(X, features_names)
        except ServingError as exc:
            predictor.reject(call)
            self._trace(call, OUTCOME_INVALID)
            self._metrics.export_now()
            raise _http_error(exc) from None
        if delay_s := predictor.delay_s(call):
            time.sleep(delay_s)
        try:
            labels = predictor.finish(call, rows)
        except ServingError as exc:
            self._trace(call, OUTCOME_INJECTED)
            self._metrics.export_now()
            raise _http_error(exc) from None
        self._trace(call, OUTCOME_OK)
        self._answers.record(request.headers.get(REQUEST_ID_HEADER) if has_request_context() else None, labels)
        return np.array(labels, dtype=object).reshape(-1, 1)

    def _trace(self, call, outcome: str) -> None:
        if self._tracing:  # on the Flask span of this request (servers.seldon_tracing)
            tracing.annotate(self._predictor.version, self._revision, call, outcome)

    def _rows(self, X, features_names) -> np.ndarray:
        expected = self._predictor.metadata.feature_names
        rows = rows_from_array(X, len(expected) if not features_names else len(features_names))
        if not features_names or list(features_names) == expected:
            return rows
        unknown = sorted(set(features_names) - set(expected))
        missing = sorted(set(expected) - set(features_names))
        if unknown or missing or len(features_names) != len(expected):
            raise InvalidInput(f"feature names do not match the model: unknown {unknown}, missing {missing}")
        # Names in another order: put the columns where the model wants them.
        return rows[:, [list(features_names).index(name) for name in expected]]

    def send_feedback_raw(self, message):
        """The wrapper's /api/v1.0/feedback: the answer (``response``) and the ``truth``, counted per version.

        The raw hook, not ``send_feedback``: the wrapper hands that one the features and
        the truth but not the answer, and a re-prediction would not be what the user got.
        """
        try:
            doc = feedback.from_seldon(json_format.MessageToDict(message))
            answer = self._predictor.record_feedback(doc)
        except ServingError as exc:
            raise _http_error(exc) from None
        return json_to_seldon_message({"jsonData": answer, "meta": {"metrics": self._metrics.drain()}})

    def init_metadata(self) -> dict:
        """The wrapper's /api/v1.0/metadata: name, version and the feature names, in its ndarray schema."""
        names = self._artifact.feature_names
        return {"name": self._settings.name, "versions": [self._artifact.version], "platform": "sklearn",
                "inputs": [{"messagetype": "ndarray", "schema": {"names": names, "shape": [len(names)]}}],
                "outputs": [{"messagetype": "ndarray", "schema": {"names": self.class_names(), "shape": [1]}}]}

    def class_names(self) -> list[str]:
        """The output column's name in Seldon answers."""
        return ["predicted_class"]

    def tags(self) -> dict:
        """Which version answered, in meta.tags."""
        return {"model_version": self._predictor.version, "model_name": self._settings.name}

    def health_status(self) -> dict:
        """Readiness that honours the unready fault."""
        self._metrics.attach()
        try:
            self._predictor.check_ready()
        except ServingError as exc:
            raise _http_error(exc) from None
        return {"ready": True, "model_version": self._predictor.version}

    def custom_service(self) -> None:
        """The wrapper runs this in its own process: the fault admin endpoint."""
        s = self._settings
        admin_http.serve_forever(s.admin_host, s.admin_port, self._store, s.version, self._admin_token)
