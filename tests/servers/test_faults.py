import ast
import json
import os
import random
from pathlib import Path

import pytest
from pydantic import ValidationError

from servers import faults
from servers.settings import FaultSettings

N = 20_000


@pytest.mark.parametrize("error_ratio", [0.0, 0.1, 0.5, 1.0])
def test_error_ratio_is_the_share_of_failed_calls(error_ratio):
    rng = random.Random(7)
    config = faults.FaultConfig(error_ratio=error_ratio)
    failed = sum(faults.roll(config, rng).fail for _ in range(N))
    assert failed / N == pytest.approx(error_ratio, abs=0.015)


@pytest.mark.parametrize("wrong_ratio", [0.0, 0.3, 1.0])
def test_wrong_ratio_is_the_share_of_wrong_answers(wrong_ratio):
    rng = random.Random(11)
    config = faults.FaultConfig(wrong_ratio=wrong_ratio)
    wrong = sum(faults.roll(config, rng).wrong for _ in range(N))
    assert wrong / N == pytest.approx(wrong_ratio, abs=0.015)


def test_a_failed_call_is_never_also_a_wrong_answer():
    rng = random.Random(3)
    config = faults.FaultConfig(error_ratio=0.5, wrong_ratio=1.0)
    decisions = [faults.roll(config, rng) for _ in range(2000)]
    assert not any(d.fail and d.wrong for d in decisions)
    assert all(d.fail or d.wrong for d in decisions)


def test_latency_with_jitter_stays_in_its_range():
    rng = random.Random(5)
    config = faults.FaultConfig(latency_ms=100, latency_jitter_ms=50)
    delays = [faults.roll(config, rng).delay_s for _ in range(2000)]
    assert min(delays) >= 0.100 and max(delays) <= 0.150
    assert max(delays) - min(delays) > 0.04


def test_same_seed_same_faults():
    config = faults.FaultConfig(error_ratio=0.3, wrong_ratio=0.3)
    rng_a, rng_b, rng_c = random.Random(9), random.Random(9), random.Random(10)
    run_a = [faults.roll(config, rng_a) for _ in range(500)]
    assert run_a == [faults.roll(config, rng_b) for _ in range(500)]
    assert run_a != [faults.roll(config, rng_c) for _ in range(500)]


def test_no_fault_draws_no_dice():
    rng = random.Random(1)
    state = rng.getstate()
    assert faults.roll(faults.FaultConfig(), rng) == faults.NO_FAULT
    assert rng.getstate() == state


@pytest.mark.parametrize(
    "update, expected",
    [
        ({"error_ratio": 0.2}, {"error_ratio": 0.2, "latency_ms": 50.0}),
        ({"clear": True}, {"error_ratio": 0.0, "latency_ms": 0.0}),
        ({"clear": True, "wrong_ratio": 0.5}, {"latency_ms": 0.0, "wrong_ratio": 0.5}),
        ({"unready": True}, {"unready": True, "latency_ms": 50.0}),
    ],
)
def test_updates_change_only_what_they_name(update, expected):
    current = faults.FaultConfig(latency_ms=50)
    new = faults.FaultUpdate(**update).apply(current).model_dump()
    assert {k: new[k] for k in expected} == expected


def test_an_update_that_turns_faults_on_is_active():
    idle = faults.FaultConfig()
    assert not idle.active
    assert faults.FaultUpdate(error_ratio=0.5).apply(idle).active
    assert not faults.FaultUpdate(clear=True).apply(faults.FaultConfig(latency_ms=5)).active


@pytest.mark.parametrize(
    "bad", [{"error_ratio": 1.5}, {"wrong_ratio": -0.1}, {"latency_ms": -1}, {"error_rate": 0.5}]
)
def test_bad_updates_are_refused(bad):
    with pytest.raises(ValidationError):
        faults.FaultUpdate(**bad)


def test_settings_come_from_fault_variables(monkeypatch):
    monkeypatch.setenv("FAULT_ERROR_RATIO", "0.5")
    monkeypatch.setenv("FAULT_UNREADY", "true")
    config = faults.FaultConfig.from_settings(FaultSettings())
    assert config.error_ratio == 0.5 and config.unready


def test_out_of_range_variable_is_refused(monkeypatch):
    monkeypatch.setenv("FAULT_ERROR_RATIO", "2")
    with pytest.raises(ValidationError, match="error_ratio"):
        FaultSettings()


def test_a_write_is_seen_by_another_reader(tmp_path):
    path = tmp_path / "faults.json"
    writer, reader = faults.FaultStore(path, 1), faults.FaultStore(path, 1)
    writer.initialise(faults.FaultConfig())
    assert reader.current().error_ratio == 0.0
    for ratio in (0.1, 0.2, 0.3):  # back-to-back writes within one clock tick
        writer.write(faults.FaultConfig(error_ratio=ratio))
    assert reader.current().error_ratio == 0.3


def test_a_reader_sees_a_write_within_one_recheck_period_and_not_a_stat_per_request(tmp_path, monkeypatch):
    path, now = tmp_path / "faults.json", [0.0]
    writer = faults.FaultStore(path, 1)
    reader = faults.FaultStore(path, 1, recheck_s=0.1, clock=lambda: now[0])
    writer.initialise(faults.FaultConfig())
    assert reader.read().error_ratio == 0.0
    writer.write(faults.FaultConfig(error_ratio=0.5))
    stats = []
    real_stat = os.stat
    monkeypatch.setattr(faults.os, "stat", lambda p: stats.append(p) or real_stat(p))
    now[0] = 0.099
    assert [reader.read().error_ratio for _ in range(1000)] == [0.0] * 1000  # within the period: the cached state
    assert stats == []
    now[0] = 0.1
    assert reader.read().error_ratio == 0.5  # at the period's end: the new state, after one stat
    assert len(stats) == 1


def test_an_admin_write_settles_for_one_recheck_period_only_when_other_processes_read(tmp_path):
    assert faults.FaultStore(tmp_path / "a.json", os.getpid(), recheck_s=0.1).settle_s == 0.0
    assert faults.FaultStore(tmp_path / "b.json", os.getpid() + 1, recheck_s=0.1).settle_s == 0.1


def test_restart_of_the_same_server_keeps_runtime_changes(tmp_path):
    path = tmp_path / "faults.json"
    store = faults.FaultStore(path, 1)
    store.initialise(faults.FaultConfig())
    store.write(faults.FaultConfig(error_ratio=1.0))
    faults.FaultStore(path, 1).initialise(faults.FaultConfig())  # a worker restarting
    assert faults.FaultStore(path, 1).read().error_ratio == 1.0


def test_a_new_server_does_not_inherit_an_old_state(tmp_path):
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"server_pid": 2, "faults": {"error_ratio": 1.0}}))
    store = faults.FaultStore(path, 1)
    store.initialise(faults.FaultConfig(latency_ms=5))
    assert store.read() == faults.FaultConfig(latency_ms=5)


def test_a_corrupt_state_file_keeps_the_last_good_state(tmp_path):
    path = tmp_path / "faults.json"
    store = faults.FaultStore(path, 1)
    store.write(faults.FaultConfig(error_ratio=0.4))
    path.write_text("{not json")
    assert store.read().error_ratio == 0.4


def test_admin_token_from_a_mounted_file(monkeypatch, tmp_path):
    (tmp_path / "token").write_text("s3cret\n")
    monkeypatch.setenv("FAULT_ADMIN_TOKEN", "from-env")
    monkeypatch.setenv("FAULT_ADMIN_TOKEN_FILE", str(tmp_path / "token"))
    assert FaultSettings().resolved_admin_token() == "s3cret"
    monkeypatch.setenv("FAULT_ADMIN_TOKEN_FILE", str(tmp_path / "absent"))
    assert FaultSettings().resolved_admin_token() == ""


def test_the_fault_update_the_type_checker_sees_has_every_fault_field_and_nothing_else():
    """FaultUpdate is made at runtime from FaultFields; mypy reads a class written out under TYPE_CHECKING."""
    tree = ast.parse(Path(faults.__file__).read_text())
    written = next(node for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name == "FaultUpdate")
    declared = {stmt.target.id for stmt in written.body if isinstance(stmt, ast.AnnAssign)}
    assert declared == set(faults.FaultFields.model_fields)
    assert set(faults.FaultUpdate.model_fields) == declared | {"clear"}
