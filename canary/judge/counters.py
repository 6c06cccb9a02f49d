"""Exact per-series increments of Prometheus counters, from their raw samples, in cells of fixed width.

``increase()`` extrapolates to the window's edges (non-integer, biased), and a
difference of sums breaks when pods come and go, so neither may feed an e-value.
Instead every raw sample of every series is read (a range selector in an instant
query) and its increment is kept here: v >= last adds v - last; v < last is a reset
and adds v, at the resolution of the scrapes. The increment lands in the cell of the
sample's own timestamp, not of the moment the judge read it, so the cells are a
function of what Prometheus holds: a judge that restarts and reads them again from
the analysis's start rebuilds the same cells, and a scrape that arrives late lands
where it happened.

The baseline is the last sample of each series at or before the start, looked for
over a history window: a series missing from one scrape at the start (a failed
scrape marks it stale) is still found, and never counted from zero. The same window
gives each series' history before the analysis (the latency test's bound, the
stable prior), and its last ``recent_s`` in cells of their own, numbered below 0
(stable's recent tail, canary.judge.tail).
"""

import math
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)  # what names a series (canary.judge.source.SeriesKey)
Samples = dict[K, list[tuple[float, float]]]  # series key -> [(timestamp, value), ...] in time order


def increments(samples: list[tuple[float, float]], last: float | None) -> list[tuple[float, float]]:
    """(timestamp, increment) of each sample after the value ``last`` (None: the series starts at 0)."""
    out, previous = [], 0.0 if last is None else last
    for at, value in samples:
        out.append((at, value - previous if value >= previous else value))
        previous = value
    return out


class CellCounts(Generic[K]):
    """Increments since ``start`` of every series, summed per cell of ``cell_s`` seconds."""

    def __init__(self, start: float, cell_s: float, recent_s: float = 0.0) -> None:
        self.start, self.cell_s, self.recent_s = start, cell_s, recent_s
        self._last: dict[K, tuple[float, float]] = {}  # series -> (timestamp, value) of its last sample
        self.cells: dict[int, dict[K, float]] = {}  # below 0: the history's last recent_s
        self.history: dict[K, float] = {}  # each series' increments over the history window
        self._sums: dict[K, float] = {}  # each series' increments over every cell
        self.frozen = 0  # cells before this one are judged: a later sample lands in the first open cell
        self.resets = 0
        self._rebase: set[K] = set()  # series whose next read comes from another Prometheus replica

    def rebase(self) -> None:
        """The next samples come from another replica (canary.judge.source): each series continues from that
        replica's own first sample, never from the other's value."""
        self._rebase = set(self._last)

    def baseline(self, samples: Samples[K]) -> None:
        """Fold in the samples at or before the start: the last one is the baseline, the rest is history."""
        for key, points in samples.items():
            points = [p for p in points if p[0] <= self.start]
            if points:
                history = increments(points[1:], points[0][1])
                self.history[key] = sum(inc for _, inc in history)
                self._last[key] = points[-1]
                for at, inc in history:
                    if at > self.start - self.recent_s:
                        cell = self.cells.setdefault(math.ceil((at - self.start) / self.cell_s) - 1, {})
                        cell[key] = cell.get(key, 0.0) + inc

    def fold(self, samples: Samples[K], late: bool = True) -> None:
        """Fold in samples after the start; those already seen (by timestamp) are skipped. A late sample of a
        judged cell counts in the first open one; ``late=False`` (a counter read for the first time, whose
        tests have judged nothing yet) puts every sample in the cell of its own time."""
        for key, points in samples.items():
            seen = self._last.get(key)
            fresh = [p for p in points if p[0] > (seen[0] if seen else self.start)]
            if not fresh:
                continue
            previous = self._rebased(key, fresh) if key in self._rebase else (seen[1] if seen else None)
            for (at, inc), (_, value) in zip(increments(fresh, previous), fresh):
                self.resets += previous is not None and value < previous
                previous = value
                cell = self.cells.setdefault(max(self.cell_of(at), self.frozen if late else 0), {})
                cell[key] = cell.get(key, 0.0) + inc
                self._sums[key] = self._sums.get(key, 0.0) + inc
            if fresh:
                self._last[key] = fresh[-1]

    def _rebased(self, key: K, fresh: list[tuple[float, float]]) -> float:
        """The value a re-based series continues from: the new replica's first sample after the last one
        counted, taken off ``fresh`` (only what follows it counts). Between the two replicas' samples up to a
        scrape interval goes uncounted; continuing from an older sample of the new replica would count it
        twice, and a count that only ever misses cannot make a false abort."""
        self._rebase.discard(key)
        self._last[key] = first = fresh.pop(0)
        return first[1]

    def freeze(self, upto: int) -> None:
        """The cells before ``upto`` are judged and change no more: a scrape that lands later (past the
        settling time) is counted in the first cell still open, never lost and never counted twice."""
        self.frozen = max(self.frozen, upto)

    def cell_of(self, at: float) -> int:
        """The index of the cell holding a sample taken at ``at``."""
        return max(0, math.ceil((at - self.start) / self.cell_s) - 1)

    def keys(self) -> list[K]:
        """Every series seen so far."""
        return list(self._last)

    def total(self, keep: Callable[[K], bool]) -> int:
        """The summed increments of the series ``keep`` selects, over every cell."""
        return round(sum(v for k, v in self._sums.items() if keep(k)))

    def before(self, keep: Callable[[K], bool]) -> int:
        """The summed history (the window before the start) of the series ``keep`` selects."""
        return round(sum(v for k, v in self.history.items() if keep(k)))
