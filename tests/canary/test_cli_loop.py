"""The controller's loop outlives anything a reconcile raises, and says what went wrong."""

from canary.cli import rollout as cli_rollout


class Flaky:
    """A controller whose reconciles raise what a broken stack or a bug would, then succeed."""

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


def test_the_loop_survives_a_failing_reconcile(monkeypatch, capsys):
    monkeypatch.setattr(cli_rollout.time, "sleep", lambda s: None)  # the loop's pacing, not a synchronisation
    stop = Stop()
    ctrl = Flaky(stop)
    cli_rollout._loop(ctrl, stop, 0.1)
    assert ctrl.calls == 3
    out = capsys.readouterr().out
    assert "reconcile failed: TimeoutError: the stack did not answer" in out
    assert "reconcile failed: TypeError" in out
