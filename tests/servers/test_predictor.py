import random

import pytest
from prometheus_client import CollectorRegistry
from threadpoolctl import threadpool_info, threadpool_limits

from models import artifacts
from servers import faults, metrics
from servers.errors import InjectedFault, NotReady
from servers.predictor import Predictor
from servers.settings import ModelSettings


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        self.now += 0.002  # every reading 2 ms later
        return self.now


@pytest.fixture
def registry():
    return CollectorRegistry()


def make(artifact_root, registry, tmp_path, config=faults.FaultConfig(), version="v2"):
    store = faults.FaultStore(tmp_path / "faults.json", 1)
    store.write(config)
    bound = metrics.RuntimeMetrics(registry).bind("wine", version)
    return Predictor(artifact_root / version, bound, store, random.Random(0), "test", FakeClock())


def sample(registry, name, **labels):
    return registry.get_sample_value(name, {"model_name": "wine", "model_version": "v2", **labels})


def test_predictions_are_counted_by_class(artifact_root, registry, tmp_path, wine, expected_classes):
    predictor = make(artifact_root, registry, tmp_path)
    labels = predictor.finish(predictor.begin(), wine.X)
    assert labels == expected_classes["v2"]
    for name in set(labels):
        assert sample(registry, "mlcanary_predictions_total", predicted_class=name) == labels.count(name)
    assert sample(registry, "mlcanary_inference_requests_total", outcome="ok") == 1
    assert sample(registry, "mlcanary_inference_duration_seconds_sum") == pytest.approx(0.002)


def test_the_fast_path_switch_changes_the_path_not_the_answers(artifact_root, registry, tmp_path, wine, monkeypatch):
    calls = []
    load = artifacts.load

    def counting_load(folder):
        estimator, meta = load(folder)
        original = estimator.predict
        estimator.predict = lambda X: calls.append(len(X)) or original(X)
        return estimator, meta

    monkeypatch.setattr(artifacts, "load", counting_load)
    fast = make(artifact_root, registry, tmp_path)
    expected = fast.finish(fast.begin(), wine.X)
    assert calls == []
    monkeypatch.setenv("MODEL_FAST_PATH", "false")
    assert ModelSettings().fast_path is False
    bound = metrics.RuntimeMetrics(CollectorRegistry()).bind("wine", "v2")
    slow = Predictor(artifact_root / "v2", bound, fast._faults, random.Random(0), "test", fast_path=ModelSettings().fast_path)
    assert slow.finish(slow.begin(), wine.X) == expected
    assert calls == [1, len(wine.X)]  # the warm-up row at load, then the request's rows


def test_model_info_names_the_artifact(artifact_root, registry, tmp_path):
    predictor = make(artifact_root, registry, tmp_path)
    info = sample(registry, "mlcanary_model_info", artifact_sha256=predictor.metadata.sha256, runtime="test")
    assert info == 1


def test_injected_error_is_a_500_and_counted(artifact_root, registry, tmp_path, wine):
    predictor = make(artifact_root, registry, tmp_path, faults.FaultConfig(error_ratio=1.0))
    with pytest.raises(InjectedFault) as info:
        predictor.finish(predictor.begin(), wine.X[:1])
    assert info.value.status_code == 500
    assert sample(registry, "mlcanary_faults_injected_total", kind="error") == 1
    assert sample(registry, "mlcanary_inference_requests_total", outcome="injected_error") == 1


def test_wrong_answers_are_valid_but_different_classes(artifact_root, registry, tmp_path, wine, expected_classes):
    predictor = make(artifact_root, registry, tmp_path, faults.FaultConfig(wrong_ratio=1.0))
    labels = predictor.finish(predictor.begin(), wine.X)
    assert all(a != b for a, b in zip(labels, expected_classes["v2"]))
    assert set(labels) <= {"class_0", "class_1", "class_2"}
    assert sample(registry, "mlcanary_faults_injected_total", kind="wrong_prediction") == 1


def test_latency_is_drawn_and_counted_when_the_call_sleeps(artifact_root, registry, tmp_path):
    predictor = make(artifact_root, registry, tmp_path, faults.FaultConfig(latency_ms=250))
    call = predictor.begin()
    assert sample(registry, "mlcanary_faults_injected_total", kind="latency") is None
    assert predictor.delay_s(call) == pytest.approx(0.25)
    assert sample(registry, "mlcanary_faults_injected_total", kind="latency") == 1


def test_a_refused_call_never_sleeps_and_counts_no_latency_fault(artifact_root, registry, tmp_path):
    predictor = make(artifact_root, registry, tmp_path, faults.FaultConfig(latency_ms=250))
    predictor.reject(predictor.begin())
    assert sample(registry, "mlcanary_inference_requests_total", outcome="invalid_input") == 1
    assert sample(registry, "mlcanary_faults_injected_total", kind="latency") is None


def test_rejected_input_is_counted(artifact_root, registry, tmp_path):
    predictor = make(artifact_root, registry, tmp_path)
    predictor.reject(predictor.begin())
    assert sample(registry, "mlcanary_inference_requests_total", outcome="invalid_input") == 1


def test_unready_fault_fails_readiness_only(artifact_root, registry, tmp_path, wine):
    predictor = make(artifact_root, registry, tmp_path, faults.FaultConfig(unready=True))
    with pytest.raises(NotReady):
        predictor.check_ready()
    assert predictor.finish(predictor.begin(), wine.X[:1])


def test_update_reaches_every_reader(artifact_root, registry, tmp_path):
    predictor = make(artifact_root, registry, tmp_path)
    other = faults.FaultStore(tmp_path / "faults.json", 1)
    predictor.update_faults(faults.FaultUpdate(error_ratio=0.25))
    assert other.read().error_ratio == 0.25


def test_two_models_in_one_process_share_the_families():
    registry = CollectorRegistry()
    assert metrics.for_registry(registry) is metrics.for_registry(registry)
    metrics.for_registry(registry).bind("wine", "v1").count_fault("error")
    metrics.for_registry(registry).bind("wine", "v2").count_fault("error")
    value = registry.get_sample_value(
        "mlcanary_faults_injected_total", {"model_name": "wine", "model_version": "v1", "kind": "error"}
    )
    assert value == 1


def test_the_models_own_thread_pools_are_held_to_one_thread_a_request_carries_a_row(artifact_root, registry, tmp_path):
    with threadpool_limits(limits=2):  # what OpenMP and BLAS take on two cores unless told
        make(artifact_root, registry, tmp_path)
        assert {pool["num_threads"] for pool in threadpool_info()} == {ModelSettings().threads} == {1}
