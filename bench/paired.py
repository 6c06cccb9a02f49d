"""Paired, alternating rounds: the machine's drift falls on every variant alike, and figures are ratios within a round."""

import statistics
from collections.abc import Callable


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
