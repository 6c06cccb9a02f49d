"""Exact increments from raw counter readings: baseline, resets, series born later."""

from canary.judge.counters import CounterTracker


def test_increments_count_from_the_first_reading_across_a_reset_and_a_late_series():
    tracker = CounterTracker()
    tracker.observe({"a": 100.0, "b": 7.0})  # the baseline: what came before is not counted
    tracker.observe({"a": 130.0, "b": 7.0})
    tracker.observe({"a": 4.0, "b": 9.0, "c": 5.0})  # a reset of a; c born after the baseline
    assert tracker.total(lambda k: k == "a") == 34
    assert tracker.total(lambda k: k == "b") == 2
    assert tracker.total(lambda k: k == "c") == 5
    assert tracker.resets == 1 and sorted(tracker.keys()) == ["a", "b", "c"]


def test_a_series_missing_from_one_reading_resumes_without_double_counting():
    tracker = CounterTracker()
    tracker.observe({"a": 10.0})
    tracker.observe({})
    tracker.observe({"a": 15.0})
    assert tracker.total(lambda k: True) == 5


def test_what_came_before_the_baseline_is_kept_apart():
    tracker = CounterTracker()
    tracker.observe({"a": 100.0, "b": 7.0})
    tracker.observe({"a": 130.0, "c": 5.0})  # c born later: nothing of it came before
    assert tracker.before(lambda k: k == "a") == 100 and tracker.before(lambda k: k in "bc") == 7
    assert tracker.total(lambda k: k == "a") == 30
