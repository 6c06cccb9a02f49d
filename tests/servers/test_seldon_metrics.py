"""The Seldon runtime's metric buffer: handed to the wrapper's metrics object in batches, from one thread per worker."""

import threading
import time

from servers.seldon_metrics import BufferedMetrics
from tests.waiting import wait_until


class WrapperMetrics:
    """Stands in for seldon-core's SeldonMetrics: what ``update`` was given, and from which thread."""

    def __init__(self):
        self.batches: list[tuple[list[dict], str, str]] = []

    def update(self, metrics: list[dict], method: str) -> None:
        self.batches.append((metrics, method, threading.current_thread().name))


def wrapper_calls(buffer: BufferedMetrics, seldon_metrics: WrapperMetrics) -> None:
    """Like seldon_methods.predict: the wrapper's object is a local of a caller's frame."""
    buffer.attach()


def test_events_reach_the_wrapper_in_batches_from_one_thread():
    buffer, wrapper = BufferedMetrics(flush_s=0.05), WrapperMetrics()
    buffer.set_info("abc", "seldon")
    for _ in range(3):
        wrapper_calls(buffer, wrapper)
        buffer.observe("ok", 0.001)
    wait_until(lambda: wrapper.batches, 5, "a batch handed to the wrapper")
    handed = [m for batch, _, _ in wrapper.batches for m in batch]
    assert sum(m["value"] for m in handed if m["key"] == "mlcanary_inference_requests") == 3
    assert {method for _, method, _ in wrapper.batches} == {"predict"}
    assert {thread for _, _, thread in wrapper.batches} == {"metrics"}
    assert buffer.drain() == [{"type": "GAUGE", "key": "mlcanary_model_info", "value": 1,
                               "tags": {"artifact_sha256": "abc", "runtime": "seldon"}}]


def test_a_failed_call_hands_its_events_over_at_once():
    buffer, wrapper = BufferedMetrics(flush_s=5), WrapperMetrics()
    buffer.observe("injected_error", 0.001)

    def failing_call(seldon_metrics):
        return buffer.export_now()

    assert failing_call(wrapper) is True
    assert [m["tags"].get("outcome") for m in wrapper.batches[0][0] if m["key"] == "mlcanary_inference_requests"] == ["injected_error"]


class RacyWrapperMetrics:
    """seldon-core's update: read the worker's data, change it, write it back in a second step."""

    def __init__(self):
        self.total = 0

    def update(self, metrics: list[dict], method: str) -> None:
        seen = self.total
        time.sleep(0.001)  # the manager round trips between the read and the write
        self.total = seen + sum(m["value"] for m in metrics if m["key"] == "mlcanary_inference_requests")


def test_the_flusher_and_the_requests_never_lose_each_others_counts():
    buffer, wrapper = BufferedMetrics(flush_s=0.001), RacyWrapperMetrics()
    wrapper_calls(buffer, wrapper)
    one = [{"type": "COUNTER", "key": "mlcanary_inference_requests", "value": 1, "tags": {}}]
    for _ in range(200):  # the request thread's own updates, while the flusher hands over ours
        buffer.observe("ok", 0.001)
        wrapper.update(one, "predict")
    wait_until(lambda: wrapper.total == 400, 5, "all 400 counts in the wrapper's data")
