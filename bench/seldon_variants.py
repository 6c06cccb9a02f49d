"""Our Seldon model class with one thing changed, to measure what that thing costs (``bench.seldon``).

The wrapper imports these in .venv-seldon.
"""

from servers import metrics as names
from servers.seldon_metrics import BufferedMetrics
from servers.seldon_runtime import SeldonModel


class PerCallMetricsModel(SeldonModel):
    """``metrics()`` drains the buffer after every call, so the wrapper files it on every request."""

    def metrics(self) -> list[dict]:
        """Everything since the last call."""
        return self._metrics.drain()


class _CountsOnly(BufferedMetrics):
    def observe(self, outcome: str, duration_s: float) -> None:
        self._add({"type": "COUNTER", "key": names.REQUESTS, "value": 1, "tags": {"outcome": outcome}})


class NoDurationModel(SeldonModel):
    """No duration histogram: the wrapper files each TIMER value with a numpy histogram of its own."""

    def __init__(self, **parameters):
        super().__init__(**parameters)
        self._metrics = _CountsOnly(self._settings.metrics_flush_s)
