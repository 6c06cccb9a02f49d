"""One analysis (canary revision against stable revision): counters since its first call, a window per
traffic share, and the tests' verdicts, a failed test staying failed."""

import math
import re
import threading
from collections import deque
from dataclasses import dataclass

from canary.judge import quality, verdict, windows
from canary.judge.counters import CounterTracker
from canary.judge.pairs import PairCounts
from canary.judge.settings import JudgeSettings
from canary.judge.source import FEEDBACK_TOTAL, PREDICTIONS_TOTAL, REVISION_LABEL, JudgeError, PrometheusReader, Source

TESTS = ("errors", "latency")  # the default family: HTTP outcomes, from the proxy
QUALITY_TESTS = ("accuracy", "class_mix")  # model quality, from the runtimes' own counters
SHADOW_TESTS = ("disagreement",)  # under mirroring, from answers the runtimes report (canary.judge.pairs)
ALL_TESTS = TESTS + QUALITY_TESTS + SHADOW_TESTS
FAIL, PASS, CONTINUE = "fail", "pass", "continue"


@dataclass(frozen=True)
class Question:
    """What a caller asks: which revisions, at what canary weight, which tests, since when."""

    canary: str
    stable: str
    weight: float
    tests: tuple[str, ...] = TESTS
    since: float | None = None
    latency_ms: float | None = None

    def key(self) -> tuple:
        """The analysis this question belongs to; the weight only opens a new window."""
        return self.canary, self.stable, self.tests, self.since, self.latency_ms


class Analysis:
    """The state behind one key; ``answer`` is called once per measurement."""

    def __init__(self, question: Question, settings: JudgeSettings, source: Source, now: float, pairs: PairCounts):
        self.q, self.settings, self.source, self.started_at, self.pairs = question, settings, source, now, pairs
        self.tracker, self.windows, self.failed = CounterTracker(), [], {}
        self.bound_ms: float | None = None
        self.bound_origin = ""
        self.last: dict | None = None  # the last answer, for GET /v1/analyses
        # Each answer's evidence in brief, so a dashboard opened late still draws the whole analysis.
        self.trace: deque = deque(maxlen=settings.trace_points)
        self.lock = threading.Lock()

    def answer(self, reader: PrometheusReader, weight: float, now: float) -> dict:
        """Read the counters, extend the windows, run the tests; the judge's JSON document."""
        with self.lock:
            if not self.windows and self.q.since is not None:  # the counters as they were at the start
                self.tracker.observe(self._read(reader, self.q.since))
                self._extend(weight / 100, self._totals(reader, now))
            self.tracker.observe(self._read(reader, None))
            totals = self._totals(reader, now)
            self._extend(weight / 100, totals)
            self._check_traffic(reader, totals, now)
            alpha = self.settings.alpha / len(self.q.tests)
            results = [self._test(name, alpha, now) for name in self.q.tests]
        decision = FAIL if any(r["verdict"] == FAIL for r in results) else (
            PASS if all(r["verdict"] == verdict.PASS for r in results) else CONTINUE)
        self.last = {"decision": decision, "summary": self._summary(results), "canary": self.q.canary,
                     "stable": self.q.stable, "weight": weight, "at": now, "started_at": self.started_at,
                     "seconds": now - self.started_at, "alpha": self.settings.alpha, "latency_bound_ms": self.bound_ms,
                     "latency_bound_origin": self.bound_origin, "counter_resets": self.tracker.resets, "tests": results}
        self.trace.append({"at": now, "tests": {r["name"]: [r["log_e_value"], r["difference"]["lower"],
                                                              r["difference"]["upper"]] for r in results}})
        return self.last

    def _summary(self, results: list[dict]) -> str:
        """One line a person can follow: each test's verdict and the counts behind it."""
        parts = []
        for r in results:
            what = {"errors": "5xx", "accuracy": "incorrect", "class_mix": "predictions",
                    "disagreement": "pairs disagree"}.get(
                r["name"], f"over {self.bound_ms:g} ms" if self.bound_ms else "slow")
            c, st = r["canary"], r["stable"]
            counts = {"class_mix": f"canary {c['events']} {what}, stable {st['events']}",
                      "disagreement": f"{c['events']}/{c['requests']} {what}"}.get(
                r["name"], f"canary {c['events']}/{c['requests']} {what}, stable {st['events']}/{st['requests']}")
            parts.append(f"{r['name']} {r['verdict']} (e-value {r['e_value']:.3g} vs {r['threshold']:.3g}): {counts}")
        return "; ".join(parts)

    def _read(self, reader: PrometheusReader, at: float | None) -> dict:
        revisions, s = (self.q.canary, self.q.stable), self.source
        samples = reader.counters(s.requests, s.selector, revisions, at) if "errors" in self.q.tests else {}
        if "latency" in self.q.tests:
            samples.update(reader.counters(s.bucket, s.selector, revisions, at))
        if "accuracy" in self.q.tests:
            samples.update(reader.counters(FEEDBACK_TOTAL, "", revisions, at))
        if "class_mix" in self.q.tests:
            samples.update(reader.counters(PREDICTIONS_TOTAL, "", revisions, at))
        return samples

    def _sum(self, metric: str, revision: str, where=lambda labels: True) -> int:
        def keep(key) -> bool:
            labels = dict(key[1])
            return key[0] == metric and labels.get(REVISION_LABEL) == revision and where(labels)
        return self.tracker.total(keep)

    def _totals(self, reader: PrometheusReader, now: float) -> dict:
        """(events, trials) per test and role, summed over the revision's series."""
        s, out = self.source, {}
        for role, rev in (("canary", self.q.canary), ("stable", self.q.stable)):
            if "errors" in self.q.tests:
                is_error = lambda labels: re.fullmatch(s.error_code, labels.get(s.code_label, "")) is not None  # noqa: E731
                out["errors", role] = (self._sum(s.requests, rev, is_error), self._sum(s.requests, rev))
            if "latency" in self.q.tests:
                self.bound_ms = self.bound_ms or self._bound(now)
                trials = self._sum(s.bucket, rev, lambda labels: float(labels["le"]) == math.inf)
                fast = (self._sum(s.bucket, rev, lambda labels: float(labels["le"]) == self.bound_ms)
                        if self.bound_ms else trials)
                out["latency", role] = (trials - fast, trials)
            if "accuracy" in self.q.tests:
                out["accuracy", role] = (self._sum(FEEDBACK_TOTAL, rev, lambda labels: labels.get("outcome") == "incorrect"),
                                         self._sum(FEEDBACK_TOTAL, rev))
            if "class_mix" in self.q.tests:
                out["class_mix", role] = self._by_class(rev)
        if "disagreement" in self.q.tests:  # one count for the pair, kept on the canary's side
            out["disagreement", "canary"] = self.pairs.counts(self.q.canary, self.q.stable)
            out["disagreement", "stable"] = (0, 0)
        return out

    def _stable_history(self) -> tuple[int, int]:
        """Stable's (incorrect, feedback) counts before this analysis began, from the counters' baseline."""
        def keep(key, outcome=None) -> bool:
            labels = dict(key[1])
            return (key[0] == FEEDBACK_TOTAL and labels.get(REVISION_LABEL) == self.q.stable
                    and outcome in (None, labels.get("outcome")))
        return self.tracker.before(lambda k: keep(k, "incorrect")), self.tracker.before(keep)

    def _by_class(self, revision: str) -> dict:
        classes = {dict(k[1]).get("predicted_class") for k in self.tracker.keys() if k[0] == PREDICTIONS_TOTAL}
        return {c: self._sum(PREDICTIONS_TOTAL, revision, lambda labels, c=c: labels.get("predicted_class") == c)
                for c in sorted(classes - {None})}

    def _bound(self, now: float) -> float | None:
        """The smallest histogram bucket at or above the slow threshold; fixed once found.

        Stable's quantile is read from the analysis's own exact bucket counts, over the
        same window as the test (a stable that has just started, or a slow start hours
        ago, does not set it), once stable has answered enough for it: ten answers
        expected beyond the quantile. Until the grace period ends it waits; then the
        fixed SLO stands in.
        """
        bounds = sorted({float(dict(k[1])["le"]) for k in self.tracker.keys() if k[0] == self.source.bucket}
                        - {math.inf})
        if not bounds:
            return None
        if self.q.latency_ms is not None:
            self.bound_origin = "latency_ms"
            return next((b for b in bounds if b >= self.q.latency_ms), bounds[-1])
        q = self.settings.latency_quantile
        below = {le: self._sum(self.source.bucket, self.q.stable, lambda labels, le=le: float(labels["le"]) == le)
                 for le in [*bounds, math.inf]}
        if below[math.inf] >= 10 / (1 - q):
            return self._stable_bound(bounds, below, q)
        if now - self.started_at < self.settings.no_traffic_grace_s:
            return None
        self.bound_origin = "JUDGE_LATENCY_SLO_MS (stable has too few answers)"
        return next((b for b in bounds if b >= self.settings.latency_slo_ms), bounds[-1])

    def _stable_bound(self, bounds: list[float], below: dict, q: float) -> float:
        """Stable's quantile bucket, or a multiple of its median bucket where that is lower.

        The quantile rests on the ten or so answers beyond it: a long tail, or one stall of a
        fraction of a second as the analysis starts, lifts it to where a canary whose every
        answer is several times slower is not "slow". The median rests on half the answers.
        """
        total, factor = below[math.inf], self.settings.latency_median_factor
        quantile = next((b for b in bounds if below[b] >= q * total), bounds[-1])
        median = next((b for b in bounds if below[b] >= total / 2), bounds[-1])
        shifted = next((b for b in bounds if b >= factor * median), bounds[-1])
        if shifted < quantile:
            self.bound_origin = f"{factor:g} x stable's median"
            return shifted
        self.bound_origin = f"stable p{q * 100:g}"
        return quantile

    def _extend(self, rho: float, totals: dict) -> None:
        if self.windows and self.windows[-1]["rho"] == rho:
            self.windows[-1]["end"] = totals
        else:
            self.windows.append({"rho": rho, "start": totals, "end": totals})

    def _check_traffic(self, reader: PrometheusReader, totals: dict, now: float) -> None:
        if now - self.started_at < self.settings.no_traffic_grace_s or any(
                windows.trials(totals[t, "canary"]) for t in self.q.tests):
            return
        for rev in (self.q.canary, self.q.stable):
            if not reader.known(rev):
                raise JudgeError(404, f"revision {rev} is unknown to Prometheus (no target with {REVISION_LABEL}=\"{rev}\")")
        raise JudgeError(409, f"canary revision {self.q.canary} has had no requests in "
                              f"{now - self.started_at:.0f}s: give it traffic (a weight or a header route)")

    def _evaluate(self, name: str, alpha: float) -> dict:
        s = self.settings
        if name == "disagreement":
            return quality.disagreement(*windows.total(self.windows, name, "canary"), s.disagreement_absolute, alpha)
        if name in QUALITY_TESTS:  # weight-free: every window's counts together
            canary, stable = (windows.total(self.windows, name, role) for role in ("canary", "stable"))
            if name == "accuracy":
                return quality.accuracy(canary, stable, s.accuracy_absolute, alpha,
                                        quality.informed_prior(self._stable_history(), s.accuracy_prior_answers))
            return quality.class_mix(canary, stable, s.class_mix_relative, alpha)
        tolerance = verdict.Tolerance(getattr(s, f"{name}_relative"), getattr(s, f"{name}_absolute"))
        segments = [verdict.Window(w["rho"], *windows.delta(w, name, "canary"), *windows.delta(w, name, "stable"))
                    for w in self.windows]
        return verdict.evaluate(name, segments, tolerance, alpha, s.concentration)

    def _test(self, name: str, alpha: float, now: float) -> dict:
        result = self._evaluate(name, alpha)
        if name == "latency" and self.bound_ms is None:
            result["verdict"], result["reason"] = verdict.INCONCLUSIVE, "no latency histogram yet"
        if result["verdict"] == FAIL and name not in self.failed:
            self.failed[name] = {"at": now, "reason": result["reason"]}
        if name in self.failed:
            result["verdict"], result["failed_at"] = FAIL, self.failed[name]["at"]
            result["reason"] = self.failed[name]["reason"]
        return result
