"""What an analysis's windows (one per traffic share) added to each test's counts."""


def delta(window: dict, test: str, role: str):
    """What one window added: (events, trials), or counts by class for the class mix."""
    end, start = window["end"][test, role], window["start"][test, role]
    if isinstance(end, dict):
        return {c: n - start.get(c, 0) for c, n in end.items()}
    return end[0] - start[0], end[1] - start[1]


def total(windows: list[dict], test: str, role: str):
    """What every window added together: for a test that uses no traffic share."""
    deltas = [delta(w, test, role) for w in windows]
    if deltas and isinstance(deltas[0], dict):
        return {c: sum(d.get(c, 0) for d in deltas) for c in sorted({c for d in deltas for c in d})}
    return sum(d[0] for d in deltas), sum(d[1] for d in deltas)


def trials(total) -> int:
    """A test's trials: its count of requests, or of predictions over every class."""
    return sum(total.values()) if isinstance(total, dict) else total[1]

