"""The MLServer runtime: ``implementation: servers.mlserver_runtime.CanaryModel``.

model-settings.json gives ``parameters.uri`` (an artifact folder written by
``python -m models.train``) and ``parameters.version`` (v1 or v2).
"""

import asyncio
import contextlib
import random
from pathlib import Path

from fastapi import Header
from mlserver import MLModel
from mlserver.errors import MLServerError
from mlserver.handlers import custom_handler
from mlserver.types import (
    InferenceRequest,
    InferenceResponse,
    MetadataModelResponse,
    MetadataTensor,
    Parameters,
    ResponseOutput,
)
from mlserver.utils import get_model_uri
from prometheus_client import REGISTRY

from servers import admin, faults, feedback, metrics, tracing
from servers.answers import REQUEST_ID_HEADER, AnswerReporter, AnswerSettings
from servers.errors import InvalidInput, ServingError
from servers.predictor import Predictor
from servers.settings import FaultSettings, ModelSettings
from servers.validation import rows_from_tensor

RUNTIME = "mlserver"
OUTPUT_NAME = "predicted_class"
INPUT_NAME = "features"  # any name is taken; this is the one the metadata gives


@contextlib.contextmanager
def as_mlserver_error():
    """Our errors carry their HTTP status; MLServer answers with the status of an MLServerError."""
    try:
        yield
    except ServingError as exc:
        raise MLServerError(str(exc), exc.status_code) from None


class CanaryModel(MLModel):
    """Serves one version of a packaged classifier (the wine demo's by default) with faults and custom metrics."""

    async def load(self) -> bool:
        """Load the artifact, checked, with metrics and the fault switch wired in."""
        fault_settings, model_settings = FaultSettings(), ModelSettings()
        artifact_dir = Path(await get_model_uri(self.settings))
        # Workers are children of the server process: key the shared state by its pid.
        owner = faults.server_pid()
        store = faults.FaultStore(
            Path(fault_settings.state_file or faults.default_state_file(self.name, self.version or "", owner)),
            owner,
            fault_settings.recheck_s,
        )
        store.initialise(faults.FaultConfig.from_settings(fault_settings))
        self._admin_token = fault_settings.resolved_admin_token()
        self._answers = AnswerReporter(AnswerSettings())
        self._tracing = tracing.mlserver_enabled()
        self._revision = tracing.revision()
        self._predictor = Predictor(
            artifact_dir,
            metrics.for_registry(REGISTRY).bind(self.name, self.version or ""),
            store,
            random.Random(fault_settings.seed),
            RUNTIME,
            fast_path=model_settings.fast_path,
            threads=model_settings.threads,
        )
        if self.version and self.version != self._predictor.version:
            raise MLServerError(
                f"model-settings version {self.version!r} does not match the artifact in "
                f"{artifact_dir} (version {self._predictor.version!r}); fix parameters.uri"
            )
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Validate, apply the drawn faults, score; MLServer maps our errors to their status."""
        call = self._predictor.begin()
        try:
            X = self._rows(payload)
        except ServingError as exc:
            self._predictor.reject(call)
            self._trace(call, metrics.OUTCOME_INVALID)
            raise MLServerError(str(exc), exc.status_code) from None
        if delay_s := self._predictor.delay_s(call):
            await asyncio.sleep(delay_s)
        try:  # not as_mlserver_error(): that context manager cost about 3 µs a request (bench.percall)
            labels = self._predictor.finish(call, X)
        except ServingError as exc:
            self._trace(call, metrics.OUTCOME_INJECTED)
            raise MLServerError(str(exc), exc.status_code) from None
        self._trace(call, metrics.OUTCOME_OK)
        if self._answers.enabled:
            headers = (payload.parameters.headers if payload.parameters else None) or {}
            self._answers.record(headers.get(REQUEST_ID_HEADER), labels)
        return InferenceResponse(
            id=payload.id,
            model_name=self.name,
            model_version=self._predictor.version,
            outputs=[
                ResponseOutput(
                    name=OUTPUT_NAME, shape=[len(labels), 1], datatype="BYTES", data=labels
                )
            ],
            parameters=Parameters(headers={admin.VERSION_HEADER: self._predictor.version}),
        )

    async def metadata(self) -> MetadataModelResponse:
        """MLServer's model metadata, with the one input tensor and its feature names (the load generator checks
        a data file's columns against them)."""
        doc = await super().metadata()
        names = self._predictor.metadata.feature_names
        doc.inputs = [MetadataTensor(name=INPUT_NAME, datatype="FP64", shape=[-1, len(names)],
                                     parameters=Parameters(feature_names=names))]
        return doc

    def _trace(self, call, outcome: str) -> None:
        # On MLServer's server span, current here when the model runs in the server's process (no parallel workers).
        if self._tracing:
            tracing.annotate(self._predictor.version, self._revision, call, outcome)

    def _rows(self, payload: InferenceRequest):
        if len(payload.inputs) != 1:
            raise InvalidInputCount(len(payload.inputs), self._predictor.n_features)
        tensor = payload.inputs[0]
        return rows_from_tensor(
            tensor.name, tensor.shape, tensor.datatype, tensor.data.root, self._predictor.n_features
        )

    @custom_handler(rest_path=admin.FAULTS_PATH, rest_method="GET")
    async def get_faults(self) -> dict:
        """The live fault state (open: it changes nothing)."""
        return {"model_version": self._predictor.version, **self._predictor.fault_config().model_dump()}

    @custom_handler(rest_path=admin.FAULTS_PATH, rest_method="POST")
    async def set_faults(
        self, update: faults.FaultUpdate, authorization: str | None = Header(default=None)
    ) -> dict:
        """Change the fault state without a restart; needs ``Authorization: Bearer <token>``."""
        with as_mlserver_error():
            admin.authorise(authorization, self._admin_token)
        new = self._predictor.update_faults(update)
        await asyncio.sleep(self._predictor.fault_settle_s)  # answered once every worker sees it
        return {"model_version": self._predictor.version, **new.model_dump()}

    @custom_handler(rest_path=feedback.FEEDBACK_PATH, rest_method="POST")
    async def send_feedback(self, message: feedback.Feedback) -> dict:
        """Ground truth for answers this version gave: counted as correct or incorrect (open, like inference)."""
        with as_mlserver_error():
            return self._predictor.record_feedback(message)

    @custom_handler(rest_path=admin.READY_PATH, rest_method="GET")
    async def ready_probe(self) -> dict:
        """Readiness that honours the ``unready`` fault (MLServer's own stays up)."""
        with as_mlserver_error():
            self._predictor.check_ready()
        return {"ready": True, "model_version": self._predictor.version}


class InvalidInputCount(InvalidInput):
    """A request with other than exactly one input tensor."""

    def __init__(self, count: int, n_features: int):
        super().__init__(
            f"request has {count} inputs; expected exactly one tensor of shape [rows, {n_features}]"
        )
