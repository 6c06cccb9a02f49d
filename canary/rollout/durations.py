"""Durations as Argo Rollouts, Istio and the load generator read them: ``1m30s``, ``500ms``, ``1h``, or seconds.

Go's ``time.ParseDuration`` grammar (src/time/format.go, ParseDuration): an optional
sign, then one or more decimal numbers each with a unit (ns, us, µs, ms, s, m, h);
"0" alone is allowed. Argo's ``DurationString.Duration()``
(pkg/apis/rollouts/v1alpha1/analysis_types.go) calls it as is; a pause's duration is
an int-or-string, so a bare number counts as seconds (rollout_types.go,
``RolloutPause.DurationSeconds``). Hand-written: no maintained PyPI package parses
Go durations (``pytimeparse`` reads "1m30s" but refuses "500us" and accepts
"1 min", which Go refuses).
"""

import re

_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_BARE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")


class DurationError(ValueError):
    """Not a duration; the message shows how to write one."""


def seconds(value: str | int | float) -> float:
    """Seconds in ``value``: a number, a numeric string, or a Go duration such as ``1m30s``."""
    if isinstance(value, bool):
        raise DurationError(f"{value!r} is not a duration; write it like 30s, 1m30s, 500ms or 1h")
    if isinstance(value, (int, float)):
        return _non_negative(float(value), value)
    text = str(value).strip()
    if _BARE.fullmatch(text):
        return _non_negative(float(text), value)
    sign, body = (text[0], text[1:]) if text[:1] in ("+", "-") else ("", text)
    parts = _PART.findall(body)
    if not parts or "".join(n + u for n, u in parts) != body:
        raise DurationError(f"{value!r} is not a duration; write it like 30s, 1m30s, 500ms or 1h")
    total = sum(float(n) * _UNIT_S[u] for n, u in parts)
    return _non_negative(-total if sign == "-" else total, value)


def interval_s(value: str | int | float) -> float:
    """A metric's interval: a duration of 1s or more, because Argo cannot keep a shorter one."""
    total = seconds(value)
    # Argo stores a measurement's finishedAt as a metav1.Time, whose JSON has whole seconds
    # (apimachinery meta/v1/time.go, MarshalJSON), and times the next one from it (argo-rollouts
    # analysis/analysis.go, generateMetricTasks): a 250ms metric is measured in bursts, all of its
    # count within a few seconds, and ends long before the time it was meant to cover.
    if total < 1:
        raise DurationError(f"{value!r} is under 1s: Argo Rollouts takes such measurements in bursts (it keeps "
                            "their times in whole seconds); use 1s or more and a count to match")
    return total


def _non_negative(total: float, value: object) -> float:
    if total < 0:
        raise DurationError(f"{value!r} is negative; a duration is 0 or more")
    return total


def format_s(total: float) -> str:
    """Short human form of whole seconds: 45s, 2m30s, 1h5m."""
    total = round(total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (
        f"{secs}s" if secs or not (hours or minutes) else "")
