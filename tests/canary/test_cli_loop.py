"""The controller's loop outlives anything a reconcile raises, and says what went wrong."""

import io
from types import SimpleNamespace

from canary.cli import logs
from canary.cli import rollout as cli_rollout
from canary.rollout.metrics import ControllerMetrics


class Flaky:
    """A controller whose reconciles raise what a broken stack or a bug would, then succeed."""

    spec = SimpleNamespace(name="wine", templates={})

    def __init__(self, stop):
        self.calls, self.stop = 0, stop

    def reconcile(self):
        self.calls += 1
        if self.calls == 1:
            raise TimeoutError("the stack did not answer")
        if self.calls == 2:
            raise TypeError("'float' object is not iterable")
        self.stop.set = True


class Stop:
    set = False

    def __bool__(self):
        return self.set


def test_the_loop_survives_a_failing_reconcile_says_so_and_counts_it(monkeypatch, canary_logging):
    monkeypatch.setattr(cli_rollout.time, "sleep", lambda s: None)  # the loop's pacing, not a synchronisation
    out = io.StringIO()
    logs.setup("plain", out)
    stop = Stop()
    ctrl = Flaky(stop)
    metrics = ControllerMetrics(ctrl, "ml-canary")
    cli_rollout._loop(ctrl, stop, 0.1, metrics)
    assert ctrl.calls == 3 and metrics.errors == 2
    lines = out.getvalue()
    assert "warning: reconcile failed: TimeoutError: the stack did not answer" in lines
    assert "warning: reconcile failed: TypeError" in lines
