"""Many analyses read their recent samples through one shared query per counter, and answer exactly as
each reading alone: the same documents, a fraction of the queries; a new analysis waits for no other."""

import threading

import numpy as np

from canary.judge.analysis import Question
from canary.judge.recent import RecentSamples
from canary.judge.service import Analyses
from canary.judge.settings import JudgeSettings
from tests.canary.judge.fakeprom import RQ, FakeReader, latencies

PAIRS = [(f"c{i:09x}", f"5{i:09x}") for i in range(6)]


class Clock:
    """The test's time, which the shared reader reads as the judge's clock."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def serve(reader: FakeReader, rng: np.random.Generator, t: int, canary_on: bool) -> None:
    """One second of traffic for every pair (the canaries with 8% 5xx and slower answers), then a scrape."""
    for i, (canary, stable) in enumerate(PAIRS):
        reader.add(stable, 40, int(rng.binomial(40, 0.01)), latencies(rng, 40, 3.0))
        if canary_on and t % len(PAIRS) >= i:  # the rollouts start a second apart
            reader.add(canary, 10, int(rng.binomial(10, 0.08)), latencies(rng, 10, 3.0 + i))
    reader.scrape(float(t))


def rollouts(seconds: int = 60) -> tuple[list[tuple], list[tuple], int, int]:
    """The same rollouts judged twice: each analysis reading alone, and all through RecentSamples."""
    # No margin: the slow bound stays inside the answers, so the two ways of reading compare slow answers, not zeros.
    reader, rng, clock, settings = FakeReader(), np.random.default_rng(7), Clock(), JudgeSettings(latency_margin_ms=0)
    alone, shared_judge = Analyses(settings), Analyses(settings)
    shared = RecentSamples(reader, settings.settle_s, settings.cell_s, clock, spawn=lambda work: work())
    answers_alone, answers_shared, alone_reads = [], [], 0
    for t in range(1, 30 + seconds):
        serve(reader, rng, t, canary_on=t > 30)
        for quarter in range(4) if t > 30 else ():
            clock.now = t + quarter / 4
            for canary, stable in PAIRS[:t - 30]:  # a new analysis every second, while the others are asked
                q = Question(canary, stable, 10.0, ("errors", "latency"))
                before = reader.reads
                a = alone.get(q, clock.now, reader).answer(reader, q, clock.now)
                alone_reads += reader.reads - before
                b = shared_judge.get(q, clock.now, shared).answer(shared, q, clock.now)
                answers_alone.append(_brief(a))
                answers_shared.append(_brief(b))
    return answers_alone, answers_shared, alone_reads, reader.reads - alone_reads


def _brief(doc: dict) -> tuple:
    return doc["decision"], doc["summary"], tuple(round(t["log_e_value"], 9) for t in doc["tests"])


def test_shared_reads_answer_as_reads_alone_with_a_fraction_of_the_queries():
    alone, shared, alone_reads, shared_reads = rollouts()
    assert alone == shared
    assert any(decision == "fail" for decision, _, _ in alone)  # the evidence moved: the comparison means something
    assert shared_reads < alone_reads / 4


def test_a_read_the_shared_query_cannot_hold_goes_to_prometheus_alone():
    reader, clock = FakeReader(), Clock()
    reader.add("a1", 10)
    reader.scrape(1.0)
    reader.add("a1", 10)
    reader.scrape(100.0)
    shared = RecentSamples(reader, 1.5, 1.0, clock, spawn=lambda work: work())
    clock.now = 100.0 + shared.margin_s  # the horizon 100 had the margin to be stored
    long_window = shared.samples("envoy_cluster_upstream_rq_xx", "", ("a1",), 100.0, 200.0)
    too_recent = shared.samples("envoy_cluster_upstream_rq_xx", "", ("a1",), clock.now - 0.1, 3.0)
    assert shared.queries == 0 and {p[0] for points in long_window.values() for p in points} == {1.0, 100.0}
    assert {p[0] for points in too_recent.values() for p in points} == {100.0}
    recent = shared.samples("envoy_cluster_upstream_rq_xx", "", ("a1",), 100.0, 3.0)
    assert shared.queries == 1 and {p[0] for points in recent.values() for p in points} == {100.0}
    clock.now += 0.9  # a later horizon than the shared read can hold: read again
    shared.samples("envoy_cluster_upstream_rq_xx", "", ("a1",), clock.now - 1.5, 3.0)
    assert shared.queries == 2


def test_a_revision_nobody_asks_about_leaves_the_shared_read():
    reader, clock = FakeReader(), Clock()
    shared = RecentSamples(reader, 1.5, 1.0, clock, spawn=lambda work: work())
    for t in range(1, 151):
        reader.add("a1", 10)
        reader.add("b1", 10)
        reader.scrape(float(t))
        clock.now = t + 0.8
        shared.samples("envoy_cluster_upstream_rq_xx", "", ("a1",) if t > 30 else ("a1", "b1"), t - 0.7, 2.5)
    # b1 was left out of the reads for two minutes: asked again, it is read again, never served from a gap.
    answer = shared.samples("envoy_cluster_upstream_rq_xx", "", ("b1",), 149.3, 2.5)
    assert sorted({p[0] for points in answer.values() for p in points}) == [147.0, 148.0, 149.0]


def test_a_revision_the_fresh_shared_read_lacks_is_read_alone_and_joins_the_next_one():
    reader, clock, renewals = FakeReader(), Clock(), []
    shared = RecentSamples(reader, 1.5, 1.0, clock, spawn=renewals.append)
    for t in (1.0, 2.0, 3.0):
        reader.add("a1", 10)
        reader.add("b1", 10)
        reader.scrape(t)
    clock.now = 3.8
    shared.samples(RQ, "", ("a1",), 2.3, 2.0)  # no shared read yet: read in line, for a1
    assert shared.queries == 1 and not renewals
    before = reader.reads
    answer = shared.samples(RQ, "", ("b1",), 2.3, 2.0)  # b1, new: asked alone, the shared read renewed aside
    assert {p[0] for points in answer.values() for p in points} == {1.0, 2.0}
    assert reader.reads == before + 1 and shared.queries == 1 and len(renewals) == 1
    renewals.pop()()
    before = reader.reads
    assert shared.samples(RQ, "", ("b1",), 2.3, 2.0) == answer and reader.reads == before  # now in the shared read


class SlowBirth(FakeReader):
    """A Prometheus whose answer to one revision's first read (its birth) waits until released."""

    def __init__(self, slow: str):
        super().__init__()
        self.slow, self.entered, self.release = slow, threading.Event(), threading.Event()

    def samples(self, metric, selector, revisions, end, window_s):
        if tuple(revisions) == (self.slow,):
            self.entered.set()
            assert self.release.wait(10)
        return super().samples(metric, selector, revisions, end, window_s)


def test_a_first_question_waiting_on_prometheus_holds_up_no_other_analysis():
    reader, settings = SlowBirth("c2"), JudgeSettings()
    judge, first = Analyses(settings), Question("c1", "s1", 10.0)
    known = judge.get(first, 1.0, reader)
    starting = threading.Thread(target=judge.get, args=(Question("c2", "s2", 10.0), 1.5, reader))
    starting.start()
    assert reader.entered.wait(10)  # c2's first read is under way
    asked = []
    other = threading.Thread(target=lambda: asked.append(judge.get(first, 2.0, reader)))
    other.start()
    other.join(5)
    waited = other.is_alive()  # for c2's first read, still under way
    reader.release.set()
    starting.join(10)
    assert not waited and asked == [known]
    assert {a.q.canary for a in judge._items.values()} == {"c1", "c2"}


def test_two_first_questions_of_one_rollout_at_once_get_one_analysis():
    reader, judge, question = SlowBirth("c2"), Analyses(JudgeSettings()), Question("c2", "s2", 10.0)
    got = []
    askers = [threading.Thread(target=lambda: got.append(judge.get(question, 1.0, reader))) for _ in range(2)]
    for asker in askers:
        asker.start()
    assert reader.entered.wait(10)
    reader.release.set()
    for asker in askers:
        asker.join(10)
    assert len(got) == 2 and got[0] is got[1] and list(judge._items.values()) == [got[0]]
