"""An analysis's settled cells, tallied per test as they settle, and each test's verdict."""

import bisect
import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from canary.judge import digest, quality, twosample, verdict
from canary.judge.source import (
    DISAGREEMENTS_TOTAL,
    FEEDBACK_TOTAL,
    PAIRS_TOTAL,
    PEER_LABEL,
    REVISION_LABEL,
    JudgeError,
    SeriesKey,
)
from canary.judge.tail import RecentTail
from canary.judge.tally import Tally

if TYPE_CHECKING:  # the analysis passes itself: its evidence reads its counts, windows and question
    from canary.judge.analysis import Analysis

Buckets = dict[float, float]  # one side's latency bucket counts: le -> answers
# (window, canary's buckets, stable's, the bound stable's recent tail sets) of one cell
LatencyRow = tuple[int, Buckets, Buckets, float | None]


class Evidence:
    """One analysis's tallies: ``settle(upto, tests)`` adds the cells before ``upto``, once each."""

    def __init__(self, analysis: "Analysis") -> None:
        self.a, self.settings = analysis, analysis.settings
        self.tallies: dict[str, Tally] = {}
        self.latency_rows: list[LatencyRow] | None = None  # raw buckets per cell, until the bound
        self.own_stable_buckets: Buckets = {}
        self.class_windows: dict[int, tuple[dict[str, float], dict[str, float]]] | None = None
        self.bound_ms: float | None = None
        self.bound_origin = ""
        self.recent = RecentTail(0, (0.99, 1.0, 0.0))  # stable's last JUDGE_LATENCY_RECENT_S once latency is asked
        self.upto = 0

    def settle(self, upto: int, tests: Sequence[str]) -> None:
        """Tally the cells from the last settled one up to ``upto`` (they change no more) into every test
        started; a test asked for the first time is started with every cell so far."""
        old, self.upto = self.upto, max(upto, self.upto)
        self.a.counts.freeze(self.upto)
        self._add(range(old, self.upto))
        for test in tests:
            if test in ("errors", "accuracy") and test not in self.tallies:
                self.tallies[test] = Tally(getattr(self.settings, f"{test}_relative", 0.0))
            elif test == "class_mix" and self.class_windows is None:
                self.class_windows = {}
            elif test == "latency" and self.latency_rows is None and "latency" not in self.tallies:
                self.latency_rows, self.recent = [], self._recent_tail()
            else:
                continue
            self._add(range(self.upto), only=test)
        if self.latency_rows is not None or "latency" in self.tallies:
            self._judge_latency()

    def _add(self, cells: range, only: str | None = None) -> None:
        firsts = [first for first, _ in self.a.windows] or [0]
        new = [(max(0, bisect.bisect_right(firsts, i) - 1), self.a.digest_of(i)) for i in cells]
        for test, tally in self.tallies.items():
            if test in ("errors", "accuracy") and only in (None, test):
                tally.add([(*c[test, "canary"], *c[test, "stable"]) for _, c in new], [w for w, _ in new])
        if self.class_windows is not None and only in (None, "class_mix"):
            for w, c in new:
                sides = self.class_windows.setdefault(w, ({}, {}))
                digest.add_buckets(sides[0], c["class_mix", "canary"])
                digest.add_buckets(sides[1], c["class_mix", "stable"])
        if only in (None, "latency") and (self.latency_rows is not None or "latency" in self.tallies):
            rows = []
            for w, c in new:
                digest.add_buckets(self.own_stable_buckets, c["latency", "stable"])
                rows.append((w, c["latency", "canary"], c["latency", "stable"], self.recent.bound()))
                self.recent.push(c["latency", "stable"])
            if "latency" in self.tallies:
                self._tally_latency(rows)
            elif self.latency_rows is not None:  # always so here: no latency tally, so rows are kept (see above)
                self.latency_rows += rows

    def _judge_latency(self) -> None:
        """Once the bound is found, every cell's slow answers from its raw buckets; when stable's answers in
        the analysis chose it, only the cells after (a bound fixed before the data it judges)."""
        if self.bound_ms is not None:
            return
        self.bound_ms, self.bound_origin, own = self._bound()
        if self.bound_ms is None:
            return
        rows, self.latency_rows = self.latency_rows or [], None
        self.tallies["latency"] = Tally(self.settings.latency_relative)
        self._tally_latency([] if own else rows)

    def _tally_latency(self, rows: list[LatencyRow]) -> None:
        bounds = [self.recent.cell_bound(self.bound_ms, recent) for _, _, _, recent in rows]
        self.tallies["latency"].add([(*digest.slow(c, b), *digest.slow(s, b)) for (_, c, s, _), b in zip(rows, bounds)],
                                    [w for w, _, _, _ in rows])

    def _recent_tail(self) -> RecentTail:
        """Stable's recent tail, seeded with its last answers before the analysis; none under a question's
        latency_ms (the person's own bound, never raised)."""
        s = self.settings
        cells = math.ceil(s.latency_recent_s / s.cell_s) if self.follows_recent_tail() else 0
        return RecentTail(cells, (s.latency_quantile, s.latency_median_factor, s.latency_margin_ms),
                          (self.a.digest_of(i)["latency", "stable"] for i in range(-cells, 0)))

    def follows_recent_tail(self) -> bool:
        """Whether cells may be judged against stable's recent tail (its every bucket then stays needed)."""
        return self.settings.latency_recent_s > 0 and self.a.q.latency_ms is None

    def _bound(self) -> tuple[float | None, str, bool]:
        """(bound, where it came from, whether from the analysis's own answers)."""
        s, a = self.settings, self.a
        edges = sorted({float(dict(k[1])["le"]) for k in a.counts.keys() if k[0] == a.source.bucket} - {math.inf})
        if a.q.latency_ms is not None:
            return next((b for b in edges if b >= a.q.latency_ms), edges[-1] if edges else None), "latency_ms", False
        found, origin = digest.bound(self._stable_history_buckets(), s.latency_quantile, s.latency_median_factor,
                                     s.latency_margin_ms)
        if found is not None:
            return found, f"{origin} over its {s.history_s:g} s before the analysis", False
        found, origin = digest.bound(self.own_stable_buckets, s.latency_quantile, s.latency_median_factor,
                                     s.latency_margin_ms)
        if found is not None:
            return found, f"{origin} over the analysis's first {self.upto * s.cell_s:g} s (judged after them)", True
        if self.upto * s.cell_s < s.no_traffic_grace_s or not edges:
            return None, "", False
        slo = next((b for b in edges if b >= s.latency_slo_ms), edges[-1])
        return slo, "JUDGE_LATENCY_SLO_MS (stable has too few answers)", False

    def _stable_history_buckets(self) -> Buckets:
        out: Buckets = {}
        for key, value in self.a.counts.history.items():
            labels = dict(key[1])
            if key[0] == self.a.source.bucket and labels.get(REVISION_LABEL) == self.a.q.stable:
                out[float(labels["le"])] = out.get(float(labels["le"]), 0) + value
        return out

    def stable_prior(self, test: str) -> tuple[float, float]:
        """Stable's rate before the analysis as a Beta prior (JUDGE_RATE_PRIOR_ANSWERS, _ACCURACY_PRIOR_ANSWERS)."""
        if test == "latency":
            slow, answers = digest.slow(self._stable_history_buckets(), self.bound_ms)
            history = int(slow), int(answers)
        elif test == "errors":
            history = self._history_pair(self.a.source.requests, lambda labels: re.fullmatch(
                self.a.source.error_code, labels.get(self.a.source.code_label, "")) is not None)
        else:
            history = self._history_pair(FEEDBACK_TOTAL, lambda labels: labels.get("outcome") == "incorrect")
        most = self.settings.accuracy_prior_answers if test == "accuracy" else self.settings.rate_prior_answers
        return twosample.informed_prior(history, most)

    def _history_pair(self, metric: str, is_event: Callable[[dict[str, str]], bool]) -> tuple[int, int]:
        stable: Callable[[SeriesKey], bool] = lambda k: (  # noqa: E731
            k[0] == metric and dict(k[1]).get(REVISION_LABEL) == self.a.q.stable)
        return self.a.counts.before(lambda k: stable(k) and is_event(dict(k[1]))), self.a.counts.before(stable)

    def evaluate(self, name: str, alpha: float) -> dict[str, Any]:
        """One test's result at level ``alpha``."""
        s = self.settings
        if name == "disagreement":
            d, n = self._pairs()
            return quality.disagreement(d, n, s.disagreement_absolute, alpha)
        if name == "class_mix":
            assert self.class_windows is not None  # settle() started the test before it is evaluated
            windows = [self.class_windows[w] for w in sorted(self.class_windows)]
            return quality.class_mix(windows, s.class_mix_relative, alpha)
        if name == "accuracy":
            return quality.accuracy(self.tallies[name].by_window(), s.accuracy_absolute, alpha,
                                    self.stable_prior(name))
        tolerance = verdict.Tolerance(getattr(s, f"{name}_relative"), getattr(s, f"{name}_absolute"))
        tally = self.tallies.get(name) or self._unjudged_latency()
        result = verdict.evaluate(name, tally, tolerance, alpha, self.stable_prior(name))
        if name == "latency" and self.bound_ms is None:
            result["verdict"], result["reason"] = verdict.INCONCLUSIVE, "no latency bound yet"
        return result

    def _unjudged_latency(self) -> Tally:
        """Before the bound: the trials only, nothing slow."""
        rows = self.latency_rows or []
        return Tally(self.settings.latency_relative).add(
            [(0, digest.slow(c, None)[1], 0, digest.slow(s, None)[1]) for _, c, s, _ in rows], [w for w, *_ in rows])

    def _pairs(self) -> tuple[int, int]:
        """(disagreements, pairs) of the canary and stable since the analysis began, up to the horizon read:
        every judge replica's counters summed, a restarted one's reset counted like any counter's. The two
        counters are read apart, so a reset seen by one and not the other (or a scrape stored between the
        reads) could put more disagreements than pairs: they stay within what the pairs allow."""
        pairs = self.a.counts.total(lambda k: k[0] == PAIRS_TOTAL and self._ours(k))
        disagreements = self.a.counts.total(lambda k: k[0] == DISAGREEMENTS_TOTAL and self._ours(k))
        return min(max(disagreements, 0), max(pairs, 0)), max(pairs, 0)

    def _ours(self, key: SeriesKey) -> bool:
        """Whether a pair series joins this analysis's two revisions (the judge labels them in sorted order)."""
        labels = dict(key[1])
        return {labels.get(REVISION_LABEL), labels.get(PEER_LABEL)} == {self.a.q.canary, self.a.q.stable}

    def check_routes(self, weight: float) -> None:
        """A 409 when the canary answers far more of this weight's requests than the weight gives it.

        Argo marks a setMirrorRoute step done even when it skipped writing the routes (stable not fully
        available at that moment); a mirror left on top keeps the weights frozen and copies half the
        predictions to the canary, so at 10% it answers a third of them. Judging such a step would
        promote a canary no user reached, and jump to 100% at once.
        """
        tally, s = self.tallies.get("errors"), self.settings
        counts = tally.windows.get(len(self.a.windows) - 1) if tally is not None and self.a.windows else None
        # Long enough that the copies a lagging scrape still brings from the step before (a shadow phase's)
        # are a small part of the step's requests.
        spanned = (self.upto - self.a.windows[-1][0]) * s.cell_s if self.a.windows else 0.0
        if counts is None or not 0 < weight < 100 or counts[1] + counts[3] < s.route_check_requests \
                or spanned < s.route_check_s:
            return
        share = counts[1] / (counts[1] + counts[3])
        if share > weight / 100 + s.route_slack:
            raise JudgeError(409, f"the canary answered {share:.0%} of {counts[1] + counts[3]:.0f} requests at weight "
                                  f"{weight:g}: the routes are not what the step set (a mirror route left on top?)")

    def canary_trials(self, tests: Sequence[str]) -> int:
        """The canary's requests (or predictions) so far, settled or not, in any of these tests' counters."""
        a, judged = self.a, (PAIRS_TOTAL, DISAGREEMENTS_TOTAL)  # the judge's own series: pairs, not requests
        pairs = self._pairs()[1] if "disagreement" in tests else 0
        if all(t == "disagreement" for t in tests):  # copies without pairs: the answers do not reach the judge
            return pairs
        return pairs + a.counts.total(lambda k: k[0] not in judged and dict(k[1]).get(REVISION_LABEL) == a.q.canary)

