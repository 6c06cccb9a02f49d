"""How the controller says what it did: durations with their time-scale, measurements with their condition."""

import math
import re

from canary.rollout.analysis import ERROR, FAILED, Measurement
from canary.rollout.template import Metric


def fmt_s(seconds: float, scale: float) -> str:
    """A plan duration, with its time-scaled value when the run is scaled."""
    text = span(seconds)
    return text if scale == 1 else f"{text} ({span(seconds / scale)} at time-scale {scale:g})"


def span(seconds: float) -> str:
    """'1m30s', '0.5s': a duration as Argo writes one."""
    minutes, secs = divmod(round(seconds, 1), 60)
    return (f"{int(minutes)}m" if minutes else "") + (f"{secs:g}s" if secs or not minutes else "")


def describe(metric: Metric, m: Measurement) -> str:
    """'0.998 >= 0.95', '0.71 < 0.95', 'no data': the value and the condition that decided it."""
    value = m.value
    if isinstance(value, list):
        value = value[0] if value else None
    if m.phase == ERROR:
        return f"error: {m.message}"
    if not isinstance(value, (int, float, type(None))):  # a web provider's value: say it, with the provider's why
        return f"{value!r}" + (f": {m.message}" if m.message else "")
    shown = "no data" if value is None else ("NaN" if isinstance(value, float) and math.isnan(value) else f"{value:.3f}")
    cond = metric.failure_condition if m.phase == FAILED and metric.failure_condition else metric.success_condition
    found = re.findall(r"result(?:\[0\])?\s*(>=|<=|>|<|==)\s*([\d.]+)", cond or "")
    if not found or value is None:
        return f"{shown} ({m.phase.lower()})"
    op, threshold = found[-1]
    negate = m.phase == FAILED and cond == metric.success_condition
    return f"{shown} {'not ' if negate else ''}{op} {threshold}"
