"""Durations as people write them: ``30s``, ``5m``, ``1h30m``, ``250ms`` or plain seconds."""

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse(text: str | float | int) -> float:
    """Seconds in ``text``; ValueError with an example when it is not a duration."""
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        cleaned = text.strip().lower().replace(" ", "")
        try:
            seconds = float(cleaned)
        except ValueError:
            parts = _PART.findall(cleaned)
            if not parts or "".join(n + u for n, u in parts) != cleaned:
                raise ValueError(f"{text!r} is not a duration; write it like 30s, 5m, 1h30m or 250ms") from None
            seconds = sum(float(n) * _SECONDS[u] for n, u in parts)
    if seconds < 0:
        raise ValueError(f"{text!r} is negative; a duration is 0 or more")
    return seconds


def format(seconds: float) -> str:
    """Short human form: 45s, 2m30s, 1h5m."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs or not (hours or minutes) else "")
    return out
