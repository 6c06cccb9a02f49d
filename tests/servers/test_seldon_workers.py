import os

import pytest

from servers import seldon_workers


@pytest.mark.parametrize(
    "cpu_max, expected",
    [("max 100000\n", None), ("100000 100000\n", 1.0), ("250000 100000\n", 2.5), ("50000 100000\n", 0.5)],
)
def test_the_cgroup_quota_is_read_in_cpus(tmp_path, cpu_max, expected):
    (tmp_path / "cpu.max").write_text(cpu_max)
    assert seldon_workers.cpu_limit(tmp_path / "cpu.max") == expected


def test_one_worker_per_usable_cpu_capped_by_the_limit(tmp_path):
    usable = len(os.sched_getaffinity(0))
    assert seldon_workers.workers(tmp_path / "absent") == usable
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a CPU still gets a worker
    assert seldon_workers.workers(tmp_path / "cpu.max") == 1
    (tmp_path / "cpu.max").write_text(f"{100000 * (usable + 3)} 100000\n")  # a limit above the machine
    assert seldon_workers.workers(tmp_path / "cpu.max") == usable
