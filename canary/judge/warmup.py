"""The canary's warm-up: its first seconds of answers, and again after a restart, are not judged on latency.

A process that has just started answers its first requests slower than one that has served for a
while: lazy code paths run for the first time, caches and connection pools fill, and the start's
own work (and the platform's, routing to it) competes for the CPU. In the tests/cluster/dataplane
run of commit 1aab292 a healthy v2, started again for a retried rollout, had 27 of its first 184
copies over 12 ms against stable's 20 of 760, and its shadow step failed on latency 12 s in.
That says when the process started, not how the model serves, so the latency test leaves out
each cell from the canary's first answer in the analysis (or a counter reset: a restarted process)
up to ``seconds`` later, stable's answers of those cells with them. Which cells are left out
depends on when answers arrive, never on how fast they were, so the sequential test's guarantee
holds over the cells it judges. The errors test judges every cell: a process that fails its
first requests has failed them.
"""

import math


class Warmup:
    """Which cells the latency test judges; ``judged`` is asked once per cell, in order."""

    def __init__(self, seconds: float, cell_s: float) -> None:
        self.seconds = seconds
        self.cells = math.ceil(seconds / cell_s) if seconds > 0 else 0
        self.until = 0  # cells before this one are in a warm-up (none until the canary answers)
        self.started = False
        self.left_out = 0  # the canary's answers in the cells left out

    def judged(self, index: int, canary_answers: float, restarted: bool) -> bool:
        """Whether cell ``index`` is judged on latency: no while the canary warms up after its first answers
        in the analysis, or after a restart of one of its processes."""
        if self.cells and canary_answers > 0 and (restarted or not self.started):
            self.started, self.until = True, index + self.cells
        if index >= self.until:
            return True
        self.left_out += round(canary_answers)
        return False

    def words(self) -> str:
        """What the latency counts leave out, for the summary ("" when nothing)."""
        return f" after a {self.seconds:g} s warm-up" if self.left_out else ""
