"""Alerts on abort: POST to webhooks, as plain JSON or as Alertmanager API v2 alerts; retried and logged.

A URL starting with ``alertmanager+`` (``alertmanager+http://host:9093/api/v2/alerts``)
gets a list of Alertmanager alerts; any other URL gets one JSON object.
"""

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

ATTEMPTS = 3
BACKOFF_S = 1.0


def payload(url: str, event: dict[str, Any]) -> tuple[str, object]:
    """The URL and body for one webhook: plain JSON, or Alertmanager's API v2 alert list."""
    if not url.startswith("alertmanager+"):
        return url, event
    alert = {
        "labels": {"alertname": "MLCanaryRolloutAborted", "severity": "critical", "rollout": event["rollout"],
                   "version": event["version"] or ""},
        "annotations": {"summary": f"rollout {event['rollout']} to {event['version']} was aborted",
                        "description": event["message"]},
        "startsAt": event["time"],
    }
    return url.removeprefix("alertmanager+"), [alert]


def send(urls: list[str], event: dict[str, Any], log: Callable[[str], None],
         sleep: Callable[[float], None] = time.sleep) -> threading.Thread:
    """POST the event to every URL in a background thread; each gets ATTEMPTS tries."""
    event = {**event, "time": datetime.now(UTC).isoformat()}

    def run() -> None:
        for raw in urls:
            url, body = payload(raw, event)
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    response = httpx.post(url, json=body, timeout=5)
                    if response.status_code < 300:
                        log(f"alert sent to {url} ({response.status_code})")
                        break
                    problem = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    problem = type(exc).__name__
                if attempt == ATTEMPTS:
                    log(f"alert to {url} failed after {ATTEMPTS} attempts: {problem}")
                else:
                    sleep(BACKOFF_S * 2 ** (attempt - 1))

    thread = threading.Thread(target=run, name="alerts", daemon=True)
    thread.start()
    return thread
