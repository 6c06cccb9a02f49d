"""Paired, alternating rounds: the machine's drift falls on every variant alike, and figures are ratios within a round."""

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats


def rotated(names: list[str], round_no: int) -> list[str]:
    """This round's order: each variant takes each position in turn, so warm-up and drift are not one variant's."""
    shift = round_no % len(names)
    return names[shift:] + names[:shift]


def run_rounds(names: list[str], rounds: int, once: Callable[[str], dict], label: str = "") -> dict[str, list[dict]]:
    """``once(name)`` for every variant in every round, in rotated order; progress on stdout."""
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for round_no in range(rounds):
        for name in rotated(names, round_no):
            runs[name].append(once(name))
            print(f"{label}round {round_no + 1}/{rounds} {name:14s} {summary(runs[name][-1])}", flush=True)
    return runs


@dataclass
class PlaceFit:
    """Each variant's log-scale factor against the first, with the fit's covariance and degrees of freedom."""

    names: list[str]
    log_factor: np.ndarray
    cov: np.ndarray
    dof: int

    def ratio(self, num: str, den: str) -> tuple[float, float, float]:
        """``num``'s value over ``den``'s, round and place removed, with its 95% interval (t, ``dof``)."""
        i, j = self.names.index(num), self.names.index(den)
        estimate = self.log_factor[i] - self.log_factor[j]
        half = stats.t.ppf(0.975, self.dof) * math.sqrt(self.cov[i, i] + self.cov[j, j] - 2 * self.cov[i, j])
        return math.exp(estimate), math.exp(estimate - half), math.exp(estimate + half)


def place_adjusted(runs: dict[str, list[dict]], key: str) -> PlaceFit | None:
    """Least squares on log(value) = round + place + variant; each run names its ``place`` in the round.

    Why: the place a server takes in a round moved its CPU per request by about 3%, the same way
    every round (``python -m bench.runtime``), which rotating the order cancels only on average.
    None when the fit has no residual degrees of freedom or a value is not positive.
    """
    names = list(runs)
    n, rounds = len(names), len(runs[names[0]])
    width = rounds + 2 * (n - 1)
    rows, values = [], []
    for index, name in enumerate(names):
        for r, run in enumerate(runs[name]):
            x = np.zeros(width)
            x[r] = 1
            if run["place"]:
                x[rounds + run["place"] - 1] = 1
            if index:
                x[rounds + n - 2 + index] = 1
            rows.append(x)
            values.append(run[key])
    X, y = np.array(rows), np.array(values, dtype=float)
    if (y <= 0).any():
        return None
    coef, _, rank, _ = np.linalg.lstsq(X, np.log(y), rcond=None)
    dof = len(y) - width
    if rank < width or dof < 1:
        return None
    residual = np.log(y) - X @ coef
    cov = residual @ residual / dof * np.linalg.inv(X.T @ X)
    block = slice(rounds + n - 1, width)
    log_factor, variant_cov = np.zeros(n), np.zeros((n, n))
    log_factor[1:], variant_cov[1:, 1:] = coef[block], cov[block, block]
    return PlaceFit(names, log_factor, variant_cov, dof)


def summary(result: dict) -> str:
    """One run in a few words for the progress line."""
    return ", ".join(f"{k} {v:.4g}" for k, v in result.items() if isinstance(v, float))


def ratios(runs: dict[str, list[dict]], num: str, den: str, key: str, lower_is_better: bool = False) -> list[float]:
    """``num`` over ``den`` per round on ``key``, as a speed-up (above 1: ``num`` is faster)."""
    pairs = zip(runs[num], runs[den], strict=True)
    return [b[key] / a[key] if lower_is_better else a[key] / b[key] for a, b in pairs]


def spread(values: list[float], fmt: str) -> str:
    """Median and range, e.g. ``1.83x (1.79x to 1.90x)``."""
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))} to {fmt.format(max(values))})"


def row(figure: str, values: list[float], fmt: str, note: str = "") -> str:
    """A markdown row: the figure, its median and range, every round's value, a note."""
    return f"| {figure} | {spread(values, fmt)} | {', '.join(fmt.format(v) for v in values)} | {note} |"


HEADER = "| figure (paired per round) | median (range) | per round | note |\n|---|---|---|---|"
