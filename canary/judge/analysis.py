"""One analysis: a canary revision against a stable revision over one rollout attempt.

Every test asked about the pair during the attempt (the shadow phase's, each weighted
step's, the quality metric's) runs once in it and spends its share of one alpha, so the
whole rollout fails a healthy canary with probability at most ``JUDGE_ALPHA``. The counts
are cells of raw increments (``counters``); a test sees only cells every scrape has
reached (``JUDGE_SETTLE_S`` behind the question), so a reading never mixes a share's
tail into the next one.
"""

import functools
import math
import re
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from canary.judge import digest as cells_digest
from canary.judge import evidence, verdict
from canary.judge.counters import CellCounts, Samples
from canary.judge.recent import RecentSamples
from canary.judge.settings import JudgeSettings
from canary.judge.source import (
    DISAGREEMENTS_TOTAL,
    FEEDBACK_TOTAL,
    PAIRS_TOTAL,
    PREDICTIONS_TOTAL,
    REVISION_LABEL,
    JudgeError,
    PrometheusReader,
    SeriesKey,
    Source,
)

TESTS = ("errors", "latency")  # the default family: HTTP outcomes, from the proxy
QUALITY_TESTS = ("accuracy", "class_mix")  # model quality, from the runtimes' own counters
SHADOW_TESTS = ("disagreement",)  # under mirroring, the judges' joined answers (canary.judge.pairs), via Prometheus
ALL_TESTS = TESTS + QUALITY_TESTS + SHADOW_TESTS
WINDOWED = TESTS + QUALITY_TESTS  # tests whose windows follow the weight
FAIL, PASS, CONTINUE = "fail", "pass", "continue"
Key = tuple[str, str, float | None, float | None]  # (canary, stable, since, latency_ms): one rollout's analysis


@dataclass(frozen=True)
class Question:
    """What a caller asks: which revisions, at what canary weight, which tests, since when."""

    canary: str
    stable: str
    weight: float
    tests: tuple[str, ...] = TESTS
    since: float | None = None
    latency_ms: float | None = None
    grace_s: float | None = None  # no canary evidence for this long is an error (JUDGE_NO_TRAFFIC_GRACE_S if None)

    def key(self) -> Key:
        """The rollout this question belongs to: every test and weight of it share one analysis."""
        return self.canary, self.stable, self.since, self.latency_ms


class Analysis:
    """The state behind one key; ``answer`` is called once per measurement."""

    def __init__(self, question: Question, settings: JudgeSettings, source: Source, now: float,
                 born: float | None = None) -> None:
        self.q, self.settings, self.source = question, settings, source
        # The start: the question's since, else when the canary's counters were born, else now.
        self.started_at = min(now, next(t for t in (question.since, born, now) if t is not None))
        self.asked_at = self.first_asked = now
        self.counts: CellCounts[SeriesKey] = CellCounts(self.started_at, settings.cell_s,
                                                            settings.latency_recent_s)
        self.read_until: dict[str, float] = {}  # each counter read so far: up to when
        self.epoch: int | None = None  # which Prometheus replica the counts come from (the reader's epoch)
        self.windows: list[tuple[int, float]] = []  # (first cell, weight) of each window
        self.failed: dict[str, dict[str, float | str]] = {}  # test -> {"at": when it failed, "reason": why}
        self.evidence = evidence.Evidence(self)
        # The last answer to each question (its tests), for GET /v1/analyses, and each answer's evidence
        # in brief, so a dashboard opened late still draws the whole analysis.
        self.last: dict[tuple[str, ...], dict[str, Any]] = {}
        self.traces: dict[tuple[str, ...], deque[dict[str, Any]]] = {}
        self.lock = threading.Lock()

    def answer(self, reader: PrometheusReader | RecentSamples, q: Question, now: float) -> dict[str, Any]:
        """Read the counters up to the settled horizon, run the question's tests; the judge's JSON document."""
        with self.lock:
            self.asked_at = now
            horizon = max(self.started_at, now - self.settings.settle_s)
            if self._unchanged(q, horizon):  # no cell settled since the last answer: the same evidence
                self._check_traffic(reader, self.evidence, q, now)
                return {**self.last[q.tests], "at": now, "seconds": now - self.started_at, "evidence_until": horizon}
            self._read(reader, q.tests, horizon)
            if any(t in WINDOWED for t in q.tests):
                self._open_window(q.weight, now)
            ev = self.evidence
            ev.settle(int((horizon - self.started_at) // self.settings.cell_s), q.tests)
            self._check_traffic(reader, ev, q, now)
            ev.check_routes(q.weight)
            results = [self._test(ev, name, now) for name in q.tests]
        decision = FAIL if any(r["verdict"] == FAIL for r in results) else (
            PASS if all(r["verdict"] == PASS for r in results) else CONTINUE)
        doc = {"decision": decision, "summary": verdict.summary(results, ev.recent.words(ev.bound_ms)), "canary": q.canary,
               "stable": q.stable, "weight": q.weight, "at": now, "started_at": self.started_at,
               "seconds": now - self.started_at, "evidence_until": horizon, "alpha_rollout": self.settings.alpha,
               "alpha": self.settings.alpha, "latency_bound_ms": ev.bound_ms, "latency_bound_origin": ev.bound_origin,
               "latency_bound_raised": {"cells": ev.recent.raised[0], "up_to_ms": None if ev.bound_ms is None
                                        else max(ev.recent.raised[1], ev.bound_ms)},
               "counter_resets": self.counts.resets, "cells": ev.upto, "tests": results}
        with self.lock:
            self.last[q.tests] = doc
            self.traces.setdefault(q.tests, deque(maxlen=self.settings.trace_points)).append(
                {"at": now, "tests": {r["name"]: [r["log_e_value"], r["difference"]["lower"],
                                                  r["difference"]["upper"]] for r in results}})
        return doc

    def _unchanged(self, q: Question, horizon: float) -> bool:
        """Whether this question's last answer stands: same weight, no new cell settled, no new counter
        to read."""
        last = self.last.get(q.tests)
        upto = int((horizon - self.started_at) // self.settings.cell_s)
        return (last is not None and last["weight"] == q.weight and upto == last["cells"]
                and not self._metrics(q.tests) - set(self.read_until))

    def _metrics(self, tests: Sequence[str]) -> set[str]:
        s, names = self.source, set()
        names |= {s.requests} if "errors" in tests else set()
        names |= {s.bucket} if "latency" in tests else set()
        names |= {FEEDBACK_TOTAL} if "accuracy" in tests else set()
        names |= {PREDICTIONS_TOTAL} if "class_mix" in tests else set()
        names |= {PAIRS_TOTAL, DISAGREEMENTS_TOTAL} if "disagreement" in tests else set()
        return names

    def _read(self, reader: PrometheusReader | RecentSamples, tests: Sequence[str], horizon: float) -> None:
        """A metric read for the first time gets its baseline, history and every sample since the start, each
        in the cell of its own time; a metric read before, its samples since its last read."""
        revisions, history = (self.q.canary, self.q.stable), self.settings.history_s
        read = functools.partial(self._follow, reader)
        for metric in sorted(self._metrics(tests)):
            selector = self.source.selector if metric in (self.source.requests, self.source.bucket) else ""
            if metric == self.source.bucket and metric in self.read_until:
                selector = ",".join(filter(None, [selector, self._bound_buckets()]))
            if metric not in self.read_until:
                self.counts.baseline(read(metric, selector, revisions, self.started_at, history))
                self.counts.fold(read(metric, selector, revisions, horizon, horizon - self.started_at), late=False)
            elif horizon > self.read_until[metric]:
                # Reach back past the last read: a scrape that landed late is still folded in, never twice.
                back = horizon - self.read_until[metric] + self.settings.settle_s + self.settings.cell_s
                self.counts.fold(read(metric, selector, revisions, horizon, min(back, horizon - self.started_at)))
            self.read_until[metric] = max(horizon, self.read_until.get(metric, horizon))

    def _follow(self, reader: PrometheusReader | RecentSamples, metric: str, selector: str, revisions: tuple[str, ...],
                end: float, window_s: float) -> Samples[SeriesKey]:
        """``reader.samples(...)``; when the queries moved to another Prometheus replica since the last read,
        every counter is first re-based on it (canary.judge.counters). A move during this read leaves its
        samples' replica unknown: the next read re-bases again."""
        before = reader.epoch
        samples = reader.samples(metric, selector, revisions, end, window_s)
        moved = reader.epoch != before
        if self.epoch is not None and (before != self.epoch or moved):
            self.counts.rebase()
        self.epoch = -1 if moved else before  # -1: no replica, so the next read re-bases
        return samples

    def _bound_buckets(self) -> str:
        """Once the latency bound is fixed, a cell's slow answers need two of its buckets (the bound's and
        +Inf's, canary.judge.digest.slow): a matcher for those, so a read carries 2 series of 29. Not while
        cells follow stable's recent tail (canary.judge.tail), whose rule reads every bucket."""
        if self.evidence.bound_ms is None or self.evidence.follows_recent_tail():
            return ""
        wanted = (self.evidence.bound_ms, math.inf)
        names = {labels["le"] for metric, labels in ((k[0], dict(k[1])) for k in self.counts.keys())
                 if metric == self.source.bucket and float(labels["le"]) in wanted}
        # A regular expression inside a PromQL string: re.escape's backslashes doubled for the string literal.
        pattern = "|".join(re.escape(name).replace("\\", "\\\\") for name in sorted(names))
        return f'le=~"{pattern}"' if names else ""

    def _open_window(self, weight: float, now: float) -> None:
        """A new weight opens a window at the first cell after the question (the weight changed before it)."""
        if not self.windows or self.windows[-1][1] != weight:
            self.windows.append((self.counts.cell_of(now) + 1 if self.windows else 0, weight))

    def barren(self, now: float) -> bool:
        """Asked for longer than the no-traffic grace without a canary request: it can only answer an error."""
        return (now - self.first_asked > self.settings.no_traffic_grace_s
                and not self.evidence.canary_trials(self.q.tests))

    def roles(self) -> dict[str, str]:
        """Revision -> role."""
        return {self.q.canary: "canary", self.q.stable: "stable"}

    def _check_traffic(self, reader: PrometheusReader | RecentSamples, ev: evidence.Evidence, q: Question,
                       now: float) -> None:
        grace = self.settings.no_traffic_grace_s if q.grace_s is None else q.grace_s
        if now - self.first_asked < grace or ev.canary_trials(q.tests):
            return
        for rev in (q.canary, q.stable):
            if not reader.known(rev):
                raise JudgeError(404, f"revision {rev} is unknown to Prometheus "
                                      f"(no target with {REVISION_LABEL}=\"{rev}\")")
        message = (f"canary revision {q.canary} has had no requests in {now - self.first_asked:.0f}s: "
                   "give it traffic (a weight or a header route)")
        # Failed, like a failed test: a retry of the rollout (asked after JUDGE_RETRY_GAP_S) starts a new
        # analysis with its own grace, instead of inheriting one already spent.
        self.failed.setdefault("traffic", {"at": now, "reason": message})
        raise JudgeError(409, message)

    def _test(self, ev: evidence.Evidence, name: str, now: float) -> dict[str, Any]:
        result = ev.evaluate(name, self.settings.alpha * self.settings.alpha_shares[name])
        if result["verdict"] == FAIL and name not in self.failed:
            self.failed[name] = {"at": now, "reason": result["reason"]}
        if name in self.failed:
            result["verdict"], result["failed_at"] = FAIL, self.failed[name]["at"]
            result["reason"] = self.failed[name]["reason"]
        return result

    def digest_of(self, index: int) -> cells_digest.Digest:
        """What cell ``index`` says per test (see canary.judge.digest)."""
        return cells_digest.digest(self.counts.cells.get(index, {}), self.source, self.roles())
