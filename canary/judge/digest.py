"""What one cell of raw increments says for each test: events and trials per side, bucket counts, classes.

The latency test's slow counts are not stored: each cell keeps its raw bucket counts,
and "slow" is derived from them with the bound once the bound is known, so a bound
chosen late changes no cell's share (a window opened before it is not left empty).
"""

import math
import re
from typing import Any, TypeVar

from canary.judge.source import FEEDBACK_TOTAL, PREDICTIONS_TOTAL, REVISION_LABEL, SeriesKey, Source

ROLES = ("canary", "stable")
# Per (test, role), a value whose type is the test's: [events, trials] (errors, accuracy), {le: count} (latency),
# {class: count} (class_mix).
Digest = dict[tuple[str, str], Any]
K = TypeVar("K", float, str)  # what bucket counts are counted by: a bucket's le, or a class


def digest(cell: dict[SeriesKey, float], source: Source, roles: dict[str, str]) -> Digest:
    """Per (test, role): (events, trials) for errors and accuracy, {le: count} for latency, {class: count}."""
    out: Digest = {}
    for side in ROLES:
        out["errors", side], out["accuracy", side] = [0, 0], [0, 0]
        out["latency", side], out["class_mix", side] = {}, {}
    for (metric, label_pairs), value in cell.items():
        labels = dict(label_pairs)
        role = roles.get(labels.get(REVISION_LABEL, ""))
        if role is None:
            continue
        if metric == source.requests:
            _add(out["errors", role], re.fullmatch(source.error_code, labels.get(source.code_label, "")), value)
        elif metric == source.bucket:
            le = float(labels["le"])
            out["latency", role][le] = out["latency", role].get(le, 0) + value
        elif metric == FEEDBACK_TOTAL:
            _add(out["accuracy", role], labels.get("outcome") == "incorrect", value)
        elif metric == PREDICTIONS_TOTAL and "predicted_class" in labels:
            name = labels["predicted_class"]
            out["class_mix", role][name] = out["class_mix", role].get(name, 0) + value
    return out


def _add(pair: list[float], is_event: re.Match[str] | bool | None, value: float) -> None:
    pair[0] += value if is_event else 0
    pair[1] += value


def slow(buckets: dict[float, float], bound_ms: float | None) -> tuple[float, float]:
    """(answers slower than the bound, answers) from one side's bucket counts; none slow without a bound."""
    trials = buckets.get(math.inf, 0)
    if bound_ms is None:
        return 0, trials
    # A reset seen by one bucket's series and not another's (its new value passed the old) can make a cell's
    # difference negative or too large: it stays within what the cell's answers allow.
    return min(max(trials - buckets.get(bound_ms, trials), 0), max(trials, 0)), trials


def bound(buckets: dict[float, float], quantile: float, median_factor: float,
          margin_ms: float = 0.0) -> tuple[float | None, str]:
    """The slow bound from stable's bucket counts: its quantile's bucket, or a multiple of its median bucket
    where that is lower; past that, ``margin_ms`` beyond the same latency estimated within its bucket, rounded
    up to a bucket. None when too few answers (ten expected beyond the quantile).

    The quantile rests on the ten or so answers beyond it: a long tail, or one stall of a
    fraction of a second, lifts it to where a canary whose every answer is several times
    slower is not "slow". The median rests on half the answers. The margin is added to the
    estimate, not to the bucket's edge: with coarse buckets (Istio's 5, 10, 25, 50 ms) the
    edge often lies the margin beyond already, and adding it there would double the bound.
    """
    edges = sorted(set(buckets) - {math.inf})
    total = buckets.get(math.inf, 0)
    if not edges or total < 10 / (1 - quantile):
        return None, ""
    at_quantile = next((b for b in edges if buckets[b] >= quantile * total), edges[-1])
    median = next((b for b in edges if buckets[b] >= total / 2), edges[-1])
    shifted = next((b for b in edges if b >= median_factor * median), edges[-1])
    if shifted < at_quantile:
        found, origin = shifted, f"{median_factor:g} x stable's median"
        estimate = median_factor * _within(buckets, edges, total / 2)
    else:
        found, origin, estimate = at_quantile, f"stable p{quantile * 100:g}", _within(buckets, edges, quantile * total)
    if margin_ms <= 0:
        return found, origin
    target = max(found, estimate + margin_ms)
    beyond = next((b for b in edges if b >= target), edges[-1])  # the last bucket: as much margin as there is
    return beyond, f"{origin} + {margin_ms:g} ms" + ("" if beyond >= target else " (cut to the last bucket)")


def _within(buckets: dict[float, float], edges: list[float], rank: float) -> float:
    """The latency of the answer at ``rank``, linear within its bucket (Prometheus' histogram_quantile)."""
    below, lower = 0.0, 0.0
    for edge in edges:
        if buckets[edge] >= rank:
            width = buckets[edge] - below
            return lower + (edge - lower) * (rank - below) / width  # width > 0: the buckets before were short
        below, lower = buckets[edge], edge
    return edges[-1]


def add_buckets(into: dict[K, float], more: dict[K, float]) -> dict[K, float]:
    """Bucket counts summed."""
    for le, n in more.items():
        into[le] = into.get(le, 0) + n
    return into
