"""Our runtime with the metrics and the fault switch taken out: the baseline for their cost."""

from pathlib import Path

from mlserver import MLModel
from mlserver.types import InferenceRequest, InferenceResponse, Parameters, ResponseOutput
from mlserver.utils import get_model_uri
from threadpoolctl import threadpool_limits

from models import artifacts, fastpath
from servers.settings import ModelSettings
from servers.validation import rows_from_tensor


class BareModel(MLModel):
    """The baseline: a custom MLServer runtime with neither metrics nor fault switch."""

    async def load(self) -> bool:
        """Load the artifact as the real runtime does."""
        estimator, self._meta = artifacts.load(Path(await get_model_uri(self.settings)))
        settings = ModelSettings()
        threadpool_limits(settings.threads)  # as ours: the thread limit is serving, not metrics or faults
        self._predict = fastpath.compile_predict(estimator, settings.fast_path)
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Score the rows; nothing else, so the difference to ours is our overhead."""
        tensor = payload.inputs[0]
        X = rows_from_tensor(tensor.name, tensor.shape, tensor.datatype, tensor.data.root, 13)
        labels = [self._meta.classes[i] for i in self._predict(X).tolist()]  # as ours maps them
        return InferenceResponse(
            model_name=self.name,
            model_version=self._meta.version,
            id=payload.id,
            outputs=[ResponseOutput(name="predicted_class", shape=[len(labels), 1], datatype="BYTES", data=labels)],
            parameters=Parameters(headers={"x-model-version": self._meta.version}),
        )
