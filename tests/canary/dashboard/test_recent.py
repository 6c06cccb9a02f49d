"""Pages polling /runtimes together share one round of calls to the stack and the runtimes."""

from canary.local.controlapi import Recent


def test_a_value_is_computed_once_per_ttl_and_anew_after_forget():
    calls = []
    recent = Recent(60.0, lambda: calls.append(1) or len(calls))
    assert [recent.get() for _ in range(3)] == [1, 1, 1]
    recent.forget()  # a fault flip: the next page sees the new switch at once
    assert recent.get() == 2 and len(calls) == 2
    assert Recent(0.0, lambda: calls.append(1) or len(calls)).get() == 3  # a TTL of 0 computes every time
