"""``--feedback-ratio`` and ``--feedback-delay`` against a real MLServer runtime that answers wrongly on purpose."""

import time

import httpx
import pytest

from tests.promtext import total

pytestmark = pytest.mark.integration


def feedback_counts(server) -> dict[str, float]:
    text = httpx.get(f"{server.metrics}/metrics", timeout=5).text
    return {o: total(text, "mlcanary_feedback_total", outcome=o) for o in ("correct", "incorrect")}


def test_accuracy_is_reported_and_the_runtime_counts_the_same_feedback(start_mlserver, run_loadgen):
    server = start_mlserver("v2", FAULT_WRONG_RATIO="0.3", FAULT_SEED="7")
    code, doc, out, _ = run_loadgen("--target", server.http, "--rps", "100", "--duration", "4s", "--quiet",
                                    "--feedback-ratio", "0.5", "--seed", "3")
    assert code == 0
    v2 = doc["by_version"]["v2"]
    assert v2["scored_rows"] == 400
    # v2 is right on about 98% of the wine rows; 30% of answers are turned wrong: about 0.69.
    assert 0.60 <= v2["accuracy"] <= 0.78, v2
    assert 160 <= v2["feedback"]["sent"] <= 240 and v2["feedback"]["accepted"] == v2["feedback"]["sent"]
    counts = feedback_counts(server)
    assert counts["correct"] + counts["incorrect"] == v2["feedback"]["sent"]
    assert counts["incorrect"] / v2["feedback"]["sent"] == pytest.approx(1 - v2["accuracy"], abs=0.1)
    assert "v2         accuracy" in out and doc["feedback"]["unsent"] == 0


def test_feedback_waits_its_delay_and_none_is_lost_at_the_end(start_mlserver, run_loadgen):
    server = start_mlserver("v1")
    before = sum(feedback_counts(server).values())
    started = time.monotonic()
    code, doc, _, _ = run_loadgen("--target", server.http, "--rps", "20", "--duration", "1s", "--quiet",
                                  "--feedback-ratio", "1", "--feedback-delay", "3s")
    assert code == 0 and time.monotonic() - started >= 4  # the last answer's feedback, 3 s after it
    assert sum(feedback_counts(server).values()) - before == doc["by_version"]["v1"]["feedback"]["accepted"] == 20


@pytest.mark.parametrize("flags, message", [(["--feedback-ratio", "1.5"], "--feedback-ratio 1.5 is outside 0..1"),
                                            (["--feedback-delay", "soon"], "'soon' is not a duration")])
def test_bad_feedback_flags_exit_2(run_loadgen, flags, message):
    code, _, _, err = run_loadgen("--target", "http://127.0.0.1:9", "--duration", "1s", *flags)
    assert code == 2 and message in err
