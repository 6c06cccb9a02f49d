"""Live progress lines and the closing summary (table and JSON)."""

import json
from pathlib import Path

from loadgen.stats import Stats, Tally, percentiles_ms


def progress_line(t_s: float, window: dict[str, Tally], stats: Stats, window_s: float) -> str:
    """One line a second: per version, the rate, success ratio and p99 of that second."""
    parts = []
    for version in sorted(window):
        tally = window[version]
        p99 = percentiles_ms(tally.latency)["p99"]
        parts.append(f"{version}: {tally.requests / window_s:6.1f}/s ok {tally.success_ratio * 100:6.2f}% p99 {p99:7.1f}ms")
    body = " | ".join(parts) if parts else "no responses"
    extra = f" | late {stats.late_sends}" + (f" | capped {stats.capped}" if stats.capped else "")
    return f"[{t_s:6.1f}s] {body}{extra}"


def summary(stats: Stats, elapsed_s: float, target_rps: float, extra: dict) -> dict:
    """The documented JSON summary (docs/loadgen.md)."""
    overall = stats.total.summary(elapsed_s)
    return {
        "target_rps": round(target_rps, 3),
        "achieved_rps": overall["achieved_rps"],
        "duration_s": round(elapsed_s, 3),
        "requests": overall["requests"],
        "scheduled": stats.scheduled,
        "success_ratio": overall["success_ratio"],
        "status_codes": overall["status_codes"],
        "latency_ms": overall["latency_ms"],
        "service_time_ms": overall["service_time_ms"],
        "late_sends": stats.late_sends,
        "max_send_lag_ms": round(stats.max_send_lag_ms, 3),
        "capped": stats.capped,
        "invalid_sent": stats.invalid_sent,
        "by_version": {v: t.summary(elapsed_s) for v, t in sorted(stats.versions.items())},
        "sends_by_second": stats.sends_by_second,
        **extra,
    }


def add_feedback(doc: dict, feedback, unsent: int) -> None:
    """Each version's accuracy and feedback counts into its ``by_version`` entry; the feedback settings beside."""
    for version, part in doc["by_version"].items():
        part.update(feedback.summary(version))
    doc["feedback"] = {"ratio": feedback.ratio, "delay_s": feedback.delay_s, "url": feedback.url, "unsent": unsent}


def table(doc: dict) -> str:
    """The summary as a fixed-width table, overall first, then each version."""
    head = f"{'version':<10} {'requests':>9} {'rps':>9} {'success':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}  status codes"
    rows = [head, "-" * len(head)]

    def row(name: str, part: dict) -> str:
        lat = part["latency_ms"]
        codes = " ".join(f"{code}:{n}" for code, n in part["status_codes"].items())
        return (f"{name:<10} {part['requests']:>9} {part['achieved_rps']:>9.1f} {part['success_ratio'] * 100:>7.2f}% "
                f"{lat['p50']:>8.2f} {lat['p90']:>8.2f} {lat['p99']:>8.2f} {lat['max']:>8.2f}  {codes}")

    rows.append(row("all", doc))
    for version, part in doc["by_version"].items():
        rows.append(row(version, part))
    rows += [f"{v:<10} accuracy {p['accuracy'] * 100:.2f}% on {p['scored_rows']} rows; feedback sent "
             f"{p['feedback']['sent']}, accepted {p['feedback']['accepted']}, failed {p['feedback']['failed']}"
             for v, p in doc["by_version"].items() if p.get("accuracy") is not None]
    svc = doc["service_time_ms"]
    rows.append("")
    rows.append(
        f"target {doc['target_rps']:.1f} rps, achieved {doc['achieved_rps']:.1f} rps over {doc['duration_s']:.1f}s; "
        f"late sends {doc['late_sends']} (max lag {doc['max_send_lag_ms']:.1f} ms); capped {doc['capped']}; "
        f"invalid payloads sent {doc['invalid_sent']}"
    )
    rows.append(f"latency is from the intended send time; service time p50 {svc['p50']:.2f} ms, p99 {svc['p99']:.2f} ms")
    return "\n".join(rows)


def write_json(path: Path, doc: dict) -> None:
    """Write the summary where --json says, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
