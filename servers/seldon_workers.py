"""How many gunicorn workers the Seldon wrapper should run: one per CPU this process may use.

``python -m servers.seldon_workers`` prints it; the image and ``make serve RUNTIME=seldon``
pass it as ``GUNICORN_WORKERS`` unless that is set. A worker is one Python process,
so it uses at most one core; on one core a second worker only adds switching
(figures in docs/benchmarks.md, ``python -m bench.seldon``).
"""

import math
import os
from pathlib import Path

CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cpu_limit(cpu_max: Path = CPU_MAX) -> float | None:
    """The cgroup v2 CPU quota in CPUs (a Kubernetes CPU limit), or None when there is none."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def workers(cpu_max: Path = CPU_MAX) -> int:
    """CPUs this process may run on, capped by the cgroup quota, at least one."""
    usable = len(os.sched_getaffinity(0))
    limit = cpu_limit(cpu_max)
    if limit is not None:
        usable = min(usable, math.ceil(limit))
    return max(1, usable)


if __name__ == "__main__":
    print(workers())
