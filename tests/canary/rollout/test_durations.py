"""One duration parser for the Rollout, the mesh and the load generator: Go's time.ParseDuration, plus bare seconds."""

import pytest

from canary.rollout.durations import DurationError, format_s, seconds


@pytest.mark.parametrize(
    "text, want",
    [("30s", 30), ("5m", 300), ("1h", 3600), ("1m30s", 90), ("1h30m", 5400), ("500ms", 0.5), ("250ms", 0.25),
     ("1.5m", 90), ("1.5h", 5400), ("300us", 0.0003), ("300µs", 0.0003), ("10ns", 1e-8), ("2h45m0.5s", 9900.5),
     ("0", 0), ("30", 30), ("2.5", 2.5), (45, 45), (0.25, 0.25), (".5s", 0.5)],
)
def test_go_durations_and_bare_seconds(text, want):
    assert seconds(text) == pytest.approx(want)


@pytest.mark.parametrize("text", ["soon", "5x", "-3", "-1s", "m5", "", "1 m", "1m 30s", "30sec", "1d", True])
def test_what_go_refuses_is_refused_with_an_example(text):
    with pytest.raises(DurationError, match="30s|negative"):
        seconds(text)


@pytest.mark.parametrize("total, text", [(45, "45s"), (150, "2m30s"), (3900, "1h5m"), (0, "0s")])
def test_short_form(total, text):
    assert format_s(total) == text
