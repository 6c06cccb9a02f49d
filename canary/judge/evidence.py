"""An analysis's settled cells, turned into each test's counts and verdict."""

import bisect
import math
import re

import numpy as np

from canary.judge import digest, quality, verdict
from canary.judge.source import FEEDBACK_TOTAL, REVISION_LABEL

_UNITS = {"errors": "5xx", "accuracy": "incorrect", "class_mix": "predictions", "disagreement": "pairs disagree"}


class Evidence:
    """The cells before ``upto`` (every scrape has reached them) of one analysis, per test."""

    def __init__(self, analysis, upto: int):
        self.a, self.settings, self.upto = analysis, analysis.settings, upto
        cache = analysis.digests
        # A settled cell changes no more (bar a scrape later than JUDGE_SETTLE_S): keep its digest.
        for i in [i for i in cache if i >= upto - 2]:
            del cache[i]
        for i in range(upto):
            if i not in cache:
                cache[i] = analysis.digest_of(i)
        self.cells = [cache[i] for i in range(upto)]
        firsts = [first for first, _ in analysis.windows] or [0]
        self.window = np.array([max(0, bisect.bisect_right(firsts, i) - 1) for i in range(upto)], int)
        self.bound_ms, self.bound_origin = self._bound()

    def _bound(self) -> tuple[float | None, str]:
        s, a = self.settings, self.a
        if a.q.latency_ms is not None:
            edges = sorted({float(dict(k[1])["le"]) for k in a.counts.keys() if k[0] == a.source.bucket} - {math.inf})
            return next((b for b in edges if b >= a.q.latency_ms), edges[-1] if edges else None), "latency_ms"
        history = self._stable_history_buckets()
        found, origin = digest.bound(history, s.latency_quantile, s.latency_median_factor)
        if found is not None:
            return found, f"{origin} over its {s.history_s:g} s before the analysis"
        own = {}
        for cell in self.cells:
            digest.add_buckets(own, cell["latency", "stable"])
        found, origin = digest.bound(own, s.latency_quantile, s.latency_median_factor)
        if found is not None:
            return found, origin
        if self.upto * s.cell_s < s.no_traffic_grace_s:
            return None, ""
        edges = sorted(set(own) | set(history)) or [s.latency_slo_ms]
        return next((b for b in edges if b >= s.latency_slo_ms), edges[-1]), "JUDGE_LATENCY_SLO_MS (stable has too few answers)"

    def _stable_history_buckets(self) -> dict:
        out = {}
        for key, value in self.a.counts.history.items():
            labels = dict(key[1])
            if key[0] == self.a.source.bucket and labels.get(REVISION_LABEL) == self.a.q.stable:
                out[float(labels["le"])] = out.get(float(labels["le"]), 0) + value
        return out

    def pairs(self, test: str) -> verdict.Cells:
        """(events, trials) per cell and side of errors, latency or accuracy."""
        if test == "latency":
            rows = [(*digest.slow(c["latency", "canary"], self.bound_ms), *digest.slow(c["latency", "stable"], self.bound_ms))
                    for c in self.cells]
        else:
            rows = [(*c[test, "canary"], *c[test, "stable"]) for c in self.cells]
        cols = np.array(rows, float).reshape(-1, 4).T
        return verdict.Cells(*cols, self.window)

    def stable_prior(self, test: str) -> tuple[float, float]:
        """Stable's rate before the analysis as a Beta prior (JUDGE_RATE_PRIOR_ANSWERS, _ACCURACY_PRIOR_ANSWERS)."""
        history = {"errors": self._history_pair(self.a.source.requests, self._is_error),
                   "accuracy": self._history_pair(FEEDBACK_TOTAL, lambda labels: labels.get("outcome") == "incorrect")}
        if test == "latency":
            history["latency"] = tuple(int(v) for v in digest.slow(self._stable_history_buckets(), self.bound_ms))
        most = self.settings.accuracy_prior_answers if test == "accuracy" else self.settings.rate_prior_answers
        return quality.informed_prior(history.get(test, (0, 0)), most)

    def _is_error(self, labels: dict) -> bool:
        return re.fullmatch(self.a.source.error_code, labels.get(self.a.source.code_label, "")) is not None

    def _history_pair(self, metric: str, is_event) -> tuple[int, int]:
        events = trials = 0
        for key, value in self.a.counts.history.items():
            labels = dict(key[1])
            if key[0] == metric and labels.get(REVISION_LABEL) == self.a.q.stable:
                trials += value
                events += value if is_event(labels) else 0
        return int(events), int(trials)

    def canary_trials(self, tests) -> int:
        """The canary's requests (or predictions) so far, settled or not, in any of these tests' counters."""
        a = self.a
        return a.counts.total(lambda k: dict(k[1]).get(REVISION_LABEL) == a.q.canary) if any(
            t != "disagreement" for t in tests) else a.pairs.counts(a.q.canary, a.q.stable)[1] - a.pairs_base[1]

    def evaluate(self, name: str, alpha: float) -> dict:
        """One test's result at level ``alpha``."""
        s = self.settings
        if name == "disagreement":
            d, n = (now - base for now, base in zip(self.a.pairs.counts(self.a.q.canary, self.a.q.stable), self.a.pairs_base))
            return quality.disagreement(d, n, s.disagreement_absolute, alpha)
        if name == "class_mix":
            windows = [({}, {}) for _ in range(int(self.window.max()) + 1 if self.upto else 0)]
            for cell, w in zip(self.cells, self.window):
                for side, role in zip(windows[w], ("canary", "stable")):
                    digest.add_buckets(side, cell["class_mix", role])
            return quality.class_mix(windows, s.class_mix_relative, alpha)
        cells = self.pairs(name)
        if name == "accuracy":
            return quality.accuracy(cells.by_window(), s.accuracy_absolute, alpha, self.stable_prior(name))
        tolerance = verdict.Tolerance(getattr(s, f"{name}_relative"), getattr(s, f"{name}_absolute"))
        result = verdict.evaluate(name, cells, tolerance, alpha, self.stable_prior(name))
        if name == "latency" and self.bound_ms is None:
            result["verdict"], result["reason"] = verdict.INCONCLUSIVE, "no latency bound yet"
        return result


def summary(results: list[dict], bound_ms: float | None) -> str:
    """One line a person can follow: each test's verdict and the counts behind it."""
    parts = []
    for r in results:
        what = _UNITS.get(r["name"], f"over {bound_ms:g} ms" if bound_ms else "slow")
        c, st = r["canary"], r["stable"]
        counts = {"class_mix": f"canary {c['events']} {what}, stable {st['events']}",
                  "disagreement": f"{c['events']}/{c['requests']} {what}"}.get(
            r["name"], f"canary {c['events']}/{c['requests']} {what}, stable {st['events']}/{st['requests']}")
        parts.append(f"{r['name']} {r['verdict']} (e-value {r['e_value']:.3g} vs {r['threshold']:.3g}): {counts}")
    return "; ".join(parts)
