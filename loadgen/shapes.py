"""Load shapes: the offered rate over time, and the fixed schedule of intended send times."""

import math
from collections.abc import Iterator
from dataclasses import dataclass

from canary.rollout.durations import seconds


@dataclass(frozen=True)
class Constant:
    """The same rate throughout."""

    rps: float

    def schedule(self) -> Iterator[float]:
        # n / rps rather than a running sum: no drift over millions of requests.
        """Intended send times from 0, in seconds."""
        n = 0
        while True:
            yield n / self.rps
            n += 1


@dataclass(frozen=True)
class Ramp:
    """From ``start_rps`` to ``end_rps`` linearly over ``over_s`` seconds, then hold."""

    start_rps: float
    end_rps: float
    over_s: float

    def schedule(self) -> Iterator[float]:
        """The n-th send is where the area under the rate reaches n: exact, even from 0 rps."""
        s, e, T = self.start_rps, self.end_rps, self.over_s
        k = (e - s) / T if T else 0.0
        ramp_area = (s + e) * T / 2
        n = 0
        while True:
            if n < ramp_area and T:
                # Solve s*t + k*t^2/2 = n for t in [0, T].
                t = n / s if k == 0 else (-s + math.sqrt(s * s + 2 * k * n)) / k
            elif e > 0:
                t = T + (n - ramp_area) / e
            else:
                return
            yield t
            n += 1


@dataclass(frozen=True)
class Steps:
    """A list of (rps, seconds) held in turn; the last rate holds after the last step."""

    steps: tuple[tuple[float, float], ...]

    @classmethod
    def parse(cls, text: str) -> "Steps":
        """``"50:30s,200:1m,50:30s"``."""
        steps = []
        for part in text.split(","):
            rate, sep, span = part.strip().partition(":")
            if not sep:
                raise ValueError(f"step {part!r} must be RPS:DURATION, for example 50:30s")
            steps.append((float(rate), seconds(span)))
        if not steps or any(rate < 0 for rate, _ in steps):
            raise ValueError(f"steps {text!r}: give at least one step, each with a rate of 0 or more")
        return cls(tuple(steps))

    def rate_at(self, t: float) -> float:
        """The offered rate at ``t`` seconds."""
        edge = 0.0
        for rate, span in self.steps:
            edge += span
            if t < edge:
                return rate
        return self.steps[-1][0]

    def next_change(self, t: float) -> float | None:
        """When the rate next changes after ``t``."""
        edge = 0.0
        for _, span in self.steps:
            edge += span
            if t < edge:
                return edge
        return None

    def schedule(self) -> Iterator[float]:
        """Intended send times from 0, in seconds."""
        return _integrate(self.rate_at, self.next_change)


def _integrate(rate_at, next_change) -> Iterator[float]:
    """Send times for a varying rate: each gap is 1/rate at the previous send."""
    t = 0.0
    while True:
        rate = rate_at(t)
        if rate <= 0:
            change = next_change(t)
            if change is None:
                return
            t = change
            continue
        yield t
        t += 1.0 / rate


def build(name: str, rps: float, ramp_from: float, ramp_over: float, steps: str | None):
    """The shape named on the command line."""
    if name == "constant":
        if rps <= 0:
            raise ValueError("--rps must be above 0")
        return Constant(rps)
    if name == "ramp":
        if rps <= 0 and ramp_from <= 0:
            raise ValueError("a ramp needs --rps or --ramp-from above 0")
        return Ramp(ramp_from, rps, ramp_over)
    if name == "steps":
        if not steps:
            raise ValueError("--shape steps needs --steps, for example --steps 50:30s,200:30s")
        return Steps.parse(steps)
    raise ValueError(f"unknown shape {name!r}; use constant, ramp or steps")
