"""One test's settled cells, summed as they settle: per window, and the count test's log-likelihoods.

A settled cell changes no more (``CellCounts.freeze``), so each is added once: the cost of an
answer does not grow with the length of the analysis.
"""

import numpy as np
from numpy.typing import ArrayLike, NDArray

from canary.judge import shares


class Tally:
    """Cells of (canary events, canary trials, stable events, stable trials), each in a window."""

    def __init__(self, relative: float = 0.0) -> None:
        self.grid = shares.grid(relative)
        self.ll_grid, self.ll_span = np.zeros(len(self.grid)), np.zeros(len(shares.SPAN))
        self.windows: dict[int, NDArray[np.float64]] = {}
        self.cells = 0

    def add(self, rows: ArrayLike, windows: ArrayLike) -> "Tally":
        """Fold in cells: rows of four counts, and the window of each."""
        rows, windows = np.asarray(rows, float).reshape(-1, 4), np.asarray(windows, int)
        if len(rows):
            xc, nc, xs, ns = rows.T
            self.ll_grid += shares.log_likelihood(xc, nc, xs, ns, self.grid)
            self.ll_span += shares.log_likelihood(xc, nc, xs, ns, shares.SPAN)
            for w in np.unique(windows):
                self.windows[int(w)] = self.windows.get(int(w), np.zeros(4)) + rows[windows == w].sum(axis=0)
            self.cells += len(rows)
        return self

    def by_window(self) -> list[tuple[int, int, int, int]]:
        """The four counts summed over each window, in order."""
        return [_rounded(self.windows[w]) for w in sorted(self.windows)]

    def totals(self) -> tuple[int, int, int, int]:
        """The four counts over every cell."""
        return _rounded(sum(self.windows.values(), np.zeros(4)))


def _rounded(sums: NDArray[np.float64]) -> tuple[int, int, int, int]:
    """The four summed counts of a window (or of them all), as integers."""
    xc, nc, xs, ns = (round(v) for v in sums)
    return xc, nc, xs, ns
