"""The slow bound's margin (JUDGE_LATENCY_MARGIN_MS): a canary a few milliseconds slower in its tail, as a
lightly loaded process on a shared CPU is, is not slow; one slower by more still fails at once."""

import math

import pytest

from canary.judge import digest
from canary.judge.settings import JudgeSettings
from tests.canary.judge.test_analysis import Rollout, Second, fails

EDGES = (1.0, 2.0, 3.0, 4.0, 5.0, 8.0, 10.0, 15.0, 20.0)
ISTIO = (1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0)  # istio_request_duration_milliseconds' first buckets


def buckets(times: dict[float, int], edges: tuple = EDGES) -> dict[float, int]:
    """Cumulative bucket counts over ``edges`` (and +Inf) of answer times (ms) -> how many."""
    out = {le: sum(n for t, n in times.items() if t <= le) for le in edges}
    return {**out, math.inf: sum(times.values())}


@pytest.mark.parametrize("times, margin, bound, origin, edges", [
    ({1.5: 980, 3.5: 15, 4.5: 5}, 5.0, 10.0, "stable p99 + 5 ms", EDGES),  # p99 bucket 4 (under 4 x the 2 ms median)
    ({1.5: 980, 3.5: 15, 4.5: 5}, 0.0, 4.0, "stable p99", EDGES),
    ({0.8: 900, 1.5: 70, 18.0: 30}, 5.0, 8.0, "4 x stable's median + 5 ms", EDGES),  # a long tail: 4 x 0.56 ms, + 5
    ({0.8: 900, 1.5: 70, 18.0: 30}, 0.1, 4.0, "4 x stable's median + 0.1 ms", EDGES),  # never below the base (4 ms)
    ({1.5: 100, 18.0: 900}, 5.0, 20.0, "stable p99 + 5 ms (cut to the last bucket)", EDGES),  # nothing past 20: said
    ({1.5: 980, 3.0: 15, 6.0: 5}, 5.0, 8.0, "stable p99 + 5 ms (cut to the last bucket)", (1.0, 2.0, 4.0, 8.0)),
], ids=["p99", "no margin", "median", "small margin", "no bucket beyond", "a bucket short"])
def test_the_margin_is_added_to_the_base_and_rounded_up_to_a_bucket(times, margin, bound, origin, edges):
    assert digest.bound(buckets(times, edges), 0.99, 4.0, margin) == (bound, origin)


def test_with_coarse_buckets_the_margin_is_added_to_the_estimate_not_to_the_edge():
    """Stable's p99 lies in Istio's (10, 25] ms bucket, at about 17.5 ms: 22.5 ms is still in it. Added to the
    edge, the margin would make the bound 50 ms, twice what the tolerance meant."""
    assert digest.bound(buckets({3.0: 985, 15.0: 10, 40.0: 5}, ISTIO), 0.99, 4.0, 5.0) == (25.0, "stable p99 + 5 ms")
    # The p99 near the bottom of its bucket (11.5 ms, not 23.5): interpolated from below, as histogram_quantile.
    assert digest.bound(buckets({3.0: 989, 12.0: 1, 20.0: 9, 40.0: 1}, ISTIO), 0.99, 4.0, 5.0)[0] == 25.0


def tail(n: int, shares: dict[float, float]) -> tuple:
    """n answer times: ``shares`` maps a time (ms) to its share of the answers, the rest 1.5 ms."""
    times = [t for t, share in shares.items() for _ in range(round(n * share))]
    return (1.5,) * (n - len(times)) + tuple(times)


STABLE = {3.0: 0.02, 5.0: 0.01}  # its p99 bucket: 4 ms (the replays' buckets: 1, 2, 4, 8, 16, 250 ms)


@pytest.mark.parametrize("margin_ms, bound, decision", [(5.0, 16.0, "pass"), (0.0, 4.0, "fail")],
                         ids=["the default margin", "none"])
def test_a_canary_a_few_ms_slower_in_its_tail_is_not_slow(margin_ms, bound, decision):
    """What tests/cluster/dataplane's healthy v2 showed at 10%, serving a ninth of stable's requests on a shared
    CPU: 8% of its answers a couple of ms over stable's p99 bucket, against stable's 1%. Judged over stable's
    p99 plus the margin it passes; at the bucket itself (the bound before the margin) it fails."""
    rollout = Rollout(settings=JudgeSettings(latency_margin_ms=margin_ms))
    rollout.history(120, (100, 0, tail(100, STABLE)))
    answers = rollout.run(180, Second(10, (50, 0, tail(50, {3.0: 0.02, 6.0: 0.08})), (450, 0, tail(450, STABLE))))
    assert answers[-1]["latency_bound_ms"] == bound
    assert decision in {a["decision"] for a in answers} and (decision == "fail") == bool(fails(answers))


def test_a_canary_slower_by_more_than_the_margin_still_fails_at_once():
    """Every answer 20 ms slower: over stable's p99 bucket plus the margin (16 ms here), all of them."""
    rollout = Rollout(settings=JudgeSettings())
    rollout.history(120, (100, 0, tail(100, STABLE)))
    answers = rollout.run(30, Second(10, (5, 0, (21.5,) * 5), (45, 0, tail(45, STABLE))))
    first = next(i for i, a in enumerate(answers) if a["decision"] == "fail")
    assert answers[first]["latency_bound_ms"] == 16.0 and answers[first]["tests"][1]["verdict"] == "fail"
    assert first < 15, answers[first]["summary"]


def test_without_history_the_margin_is_added_to_the_bound_stables_own_answers_set():
    rollout = Rollout(settings=JudgeSettings())
    answers = rollout.run(40, Second(10, (5, 0, tail(5, {})), (45, 0, tail(45, STABLE))))
    assert answers[-1]["latency_bound_ms"] == 16.0, answers[-1]["latency_bound_origin"]
    assert answers[-1]["latency_bound_origin"].startswith("stable p99 + 5 ms over the analysis's first")
