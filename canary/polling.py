"""One way to wait on a condition: polled at a fixed period, bounded in time, and cut short when what it waits on dies.

Every wait of the stack, the harness and the API servers goes through ``wait_until``: a process
coming up, an API answering, traffic flowing, a supervisor going away. None of them has an event
to block on (a child's readiness is an HTTP answer; a stopped process is a pid that is gone), so
polling is the mechanism; what differs is only the condition, the period and what ends it early.
"""

import time
from collections.abc import Callable


def wait_until(ready: Callable[[], object], timeout_s: float, every_s: float = 0.1,
               alive: Callable[[], bool] = lambda: True) -> bool:
    """True once ``ready()`` is truthy; False when ``timeout_s`` passed, or at once when ``alive()`` turns False
    (the process or thread that was to make it ready is gone: the caller says which it was)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if ready():
            return True
        if not alive() or time.monotonic() >= deadline:
            return False
        time.sleep(every_s)
