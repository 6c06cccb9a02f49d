"""Paired, alternating rounds: the machine's drift falls on every variant alike, and figures are ratios within a round."""

import math
import statistics
from collections.abc import Callable

import numpy as np


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


def place_adjusted(runs: dict[str, list[dict]], key: str) -> dict[str, float] | None:
    """Each variant's factor on ``key`` against the first variant, with every round's and every place's own
    effect removed: least squares on log(value) = round + place + variant, rounds in ``rotated`` order.

    Why: the place a server takes in a round moved its CPU per request by about 3% in every round
    (``python -m bench.runtime``, the A/A pair), which the rotation cancels only on average over rounds.
    None with fewer rounds than variants (not every place is taken by every variant yet).
    """
    names = list(runs)
    n, rounds = len(names), len(runs[names[0]])
    if rounds < n:
        return None
    rows, values = [], []
    for r in range(rounds):
        for place, name in enumerate(rotated(names, r)):
            x = np.zeros(rounds + 2 * (n - 1))
            x[r] = 1
            if place:
                x[rounds + place - 1] = 1
            if index := names.index(name):
                x[rounds + n - 2 + index] = 1
            rows.append(x)
            values.append(math.log(runs[name][r][key]))
    coef = np.linalg.lstsq(np.array(rows), np.array(values), rcond=None)[0]
    return {name: math.exp(coef[rounds + n - 2 + i]) if i else 1.0 for i, name in enumerate(names)}


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
