"""Stable's recent tail: the slow bound a cell is judged against when the machine got busier after it was fixed.

The bound is fixed once (canary.judge.evidence), from stable's quiet history. When the
machine or node then fills (other work, the canary's own start), every answer slows, and a
canary that costs a little more CPU per request, or has just started, slows more: a few
milliseconds that the margin was meant to absorb, now past a bound that no longer sits the
margin beyond stable's tail. So each cell is judged against the higher of the fixed bound and
the same rule (canary.judge.digest.bound) over stable's answers in the ``recent_s`` before
that cell. It depends only on cells before the one it judges, so the sequential test's
guarantee holds as with a fixed bound.
"""

from collections import deque
from collections.abc import Iterable

from canary.judge import digest

Buckets = dict[float, float]


class RecentTail:
    """Stable's bucket counts over its last ``cells`` cells; ``bound()`` before ``push``-ing the next one."""

    def __init__(self, cells: int, rule: tuple[float, float, float], before: Iterable[Buckets] = ()) -> None:
        self.rule = rule  # (quantile, median factor, margin in ms), as canary.judge.digest.bound takes them
        self.size = cells
        self.window: deque[Buckets] = deque()
        self.sum: Buckets = {}
        self.raised = (0, 0.0)  # (cells judged against a bound this raised, the highest such bound)
        for buckets in before:
            self.push(buckets)

    def push(self, buckets: Buckets) -> None:
        """Stable's buckets of the next cell; the oldest falls out of the window."""
        if self.size <= 0:
            return
        self.window.append(buckets)
        digest.add_buckets(self.sum, buckets)
        if len(self.window) > self.size:
            for le, n in self.window.popleft().items():
                self.sum[le] -= n

    def bound(self) -> float | None:
        """The rule's bound over the window; None with too few answers in it."""
        return digest.bound(self.sum, *self.rule)[0] if self.window else None

    def cell_bound(self, fixed: float | None, recent: float | None) -> float | None:
        """A cell's bound: the fixed one, or the one this window set before the cell where that is higher."""
        if fixed is None or recent is None or recent <= fixed:
            return fixed
        self.raised = (self.raised[0] + 1, max(self.raised[1], recent))
        return recent

    def words(self, fixed: float | None) -> str:
        """What "slow" meant, for the summary: the fixed bound, and how far this raised it (the counts are of
        answers over each cell's own bound)."""
        if fixed is None:
            return "slow"
        cells, highest = self.raised
        return f"slow (over {fixed:g} ms, up to {highest:g} in {cells} busier cells)" if cells else f"over {fixed:g} ms"
