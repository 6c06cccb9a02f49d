"""The controller never dies on a measurement, and a slow Prometheus never delays a control."""

import socket
import threading

import pytest

from canary.rollout.controller import DEGRADED, Controller, Platform
from canary.rollout.prometheus import PrometheusProvider
from canary.rollout.state import Store
from canary.rollout.view import view
from canary.rollout.web import WebProvider
from tests.canary.conftest import weighted_steps
from tests.canary.rollout.test_controller import Clock, Judge, Provider, Router, run_until


class Raising:
    """A provider with a bug or a transport it does not know: it raises anything."""

    def __init__(self, exc: Exception):
        self.exc = exc

    def query(self, address, query):
        raise self.exc


def make(tmp_path, provider, address="http://prom", web=None, judge_address="http://judge"):
    clock, router = Clock(), Router()
    ctrl = Controller(weighted_steps(tmp_path / "k8s"), Store(tmp_path / "c.db", clock),
                      Platform(router, router, provider, web or Judge()), prometheus_address=address,
                      judge_address=judge_address, clock=clock, emit=lambda line: None)
    return ctrl, clock, router


@pytest.mark.parametrize("exc", [TypeError("'float' object is not iterable"), RuntimeError("protocol error"), KeyError("data")])
def test_anything_a_provider_raises_is_an_error_measurement(tmp_path, exc):
    ctrl, clock, _ = make(tmp_path, Raising(exc))
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.run is not None and any(s.error for s in ctrl.run.states.values()))
    state = next(s for s in ctrl.run.states.values() if s.error)
    assert state.measurements[-1].phase == "Error" and type(exc).__name__ in state.measurements[-1].message
    run_until(ctrl, clock, lambda: ctrl.state.phase == DEGRADED)  # consecutiveErrorLimit, as Argo: an abort
    assert "consecutiveErrors" in ctrl.state.message


def test_a_scalar_where_a_vector_is_expected_is_an_error_not_a_crash(tmp_path):
    class Scalar(Provider):
        def query(self, address, query):
            return 0.99  # result[0] over a float

    ctrl, clock, _ = make(tmp_path, Scalar())
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.run is not None and any(s.error for s in ctrl.run.states.values()))
    assert ctrl.state.phase == "Progressing"


class StalledPrometheus:
    """A TCP server that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.accepted = threading.Event()
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            self.accepted.set()

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.mark.parametrize("provider", ["prometheus", "web"])
def test_abort_acts_at_once_while_a_provider_stalls_the_measurement(tmp_path, provider):
    stalled = StalledPrometheus()
    if provider == "prometheus":  # the gate's first measurement is due after its initialDelay
        ctrl, clock, router = make(tmp_path, PrometheusProvider(timeout_s=5), address=stalled.url, web=Judge())
    else:  # the judge is asked at once, through Argo's web provider (timeoutSeconds 5)
        ctrl, clock, router = make(tmp_path, Provider(), web=WebProvider(), judge_address=stalled.url)
    try:
        ctrl.start("v2")
        if provider == "prometheus":
            ctrl.reconcile()  # the header route, the weight and the judge; the gate is due 30 s later
            clock.now += 30
        loop = threading.Thread(target=ctrl.reconcile)
        loop.start()
        assert stalled.accepted.wait(10), f"the controller never called the {provider} provider"
        assert router.weight == 10 and loop.is_alive()  # reconcile is blocked in the query
        ctrl.abort("aborted by request")  # behaviour, not a timing: it returns while the query still hangs
        assert loop.is_alive(), "abort waited for the query to end: the lock was held across it"
        assert router.weight == 0 and ctrl.state.phase == DEGRADED
        assert view(ctrl)["phase"] == DEGRADED  # a read does not wait either
        loop.join(15)
        assert not loop.is_alive()
        assert ctrl.state.phase == DEGRADED and ctrl.run is None  # the late measurement was dropped
    finally:
        stalled.close()
