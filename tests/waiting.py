"""Waiting on a condition, never on a fixed sleep: shared by both test environments."""

import time


def wait_until(condition, timeout_s: float, what: str):
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f}s waiting for {what}"
        time.sleep(0.1)
    return value
