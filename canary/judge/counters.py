"""Exact per-series increments of Prometheus counters, kept on the judge's side.

``increase()`` extrapolates to the window's edges (non-integer, biased), and a
difference of sums breaks when pods come and go, so neither may feed an e-value.
Instead every raw series is read with instant queries and its increments are
summed here: v >= last adds v - last; v < last is a reset and adds v; a series
first seen after the baseline was born after it and adds v.
"""

from collections.abc import Callable, Hashable


class CounterTracker:
    """Increments since the first ``observe`` of every series, across counter resets."""

    def __init__(self) -> None:
        self._last: dict[Hashable, float] = {}
        self._total: dict[Hashable, float] = {}
        self._before: dict[Hashable, float] = {}  # each series' value at the baseline: what came before
        self._baselined = False
        self.resets = 0

    def observe(self, samples: dict[Hashable, float]) -> None:
        """Fold in one reading of every series (a key per series, its current value)."""
        for key, value in samples.items():
            last = self._last.get(key)
            if last is None:
                increment = value if self._baselined else 0.0
                if not self._baselined:
                    self._before[key] = value
            elif value >= last:
                increment = value - last
            else:
                increment, self.resets = value, self.resets + 1
            self._total[key] = self._total.get(key, 0.0) + increment
            self._last[key] = value
        self._baselined = True

    def keys(self) -> list[Hashable]:
        """Every series seen so far."""
        return list(self._last)

    def before(self, keep: Callable[[Hashable], bool]) -> int:
        """The summed values at the baseline of the series ``keep`` selects: their counts before the first observe."""
        return round(sum(v for k, v in self._before.items() if keep(k)))

    def total(self, keep: Callable[[Hashable], bool]) -> int:
        """The summed increments of the series ``keep`` selects."""
        return round(sum(v for k, v in self._total.items() if keep(k)))
