"""A transition is stored whole or not at all: a crash never leaves an abort in the history of a running rollout."""

import sqlite3

import pytest

from canary.rollout import saved
from canary.rollout.controller import DEGRADED, Controller, Platform
from canary.rollout.state import Store
from tests.canary.conftest import weighted_steps
from tests.canary.rollout.test_controller import Clock, Judge, Provider, Router


class FailingStateWrite:
    """A store's connection whose next write of the state fails (a disk full, a kill between two writes)."""

    def __init__(self, db: sqlite3.Connection, rolled_back: bool = False):
        self.db, self.armed, self.rolled_back = db, True, rolled_back

    def execute(self, sql: str, *args):
        if self.armed and sql.startswith("INSERT INTO state"):
            self.armed = False
            if self.rolled_back:  # as SQLite does by itself on a full disk or an I/O error
                self.db.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def executemany(self, *args):
        return self.db.executemany(*args)

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (sqlite3.Connection's)."""
        return self.db.in_transaction


def make(tmp_path, store_type=Store) -> tuple[Controller, Store]:
    clock, router = Clock(), Router()
    store = store_type(tmp_path / "c.db", clock)
    ctrl = Controller(weighted_steps(tmp_path / "k8s"), store, Platform(router, router, Provider(), Judge()),
                      prometheus_address="http://prom", judge_address="http://judge", clock=clock,
                      emit=lambda line: None)
    return ctrl, store


def test_a_commit_that_fails_writes_nothing(tmp_path):
    store = Store(tmp_path / "c.db")
    store.save({"phase": "Progressing"})
    with pytest.raises(TypeError):
        store.commit({"phase": object()}, ["rollout aborted"], [{"outcome": "aborted"}])
    assert store.load() == {"phase": "Progressing"} and store.events() == [] and store.rollouts() == []


def test_an_abort_whose_state_write_fails_stores_neither_its_record_nor_its_event(tmp_path):
    ctrl, store = make(tmp_path)
    ctrl.start("v2")
    store._db = FailingStateWrite(store._db)
    with pytest.raises(sqlite3.OperationalError):
        ctrl.abort("by hand")
    assert store.rollouts() == [] and not any("aborting" in e["line"] for e in store.events())
    assert store.load()["phase"] == "Progressing"  # the history and the state still agree: a running rollout
    ctrl.save()  # the controller's next save stores what the failed one carried, once
    assert [r["outcome"] for r in store.rollouts()] == ["aborted"] and store.load()["phase"] == DEGRADED
    assert sum("by hand: aborting" in e["line"] for e in store.events()) == 1


def test_a_commit_that_sqlite_rolled_back_itself_raises_its_own_error_and_the_store_goes_on(tmp_path):
    store = Store(tmp_path / "c.db")
    store._db = FailingStateWrite(store._db, rolled_back=True)
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        store.commit({"phase": "Progressing"}, ["rollout started"])
    store.commit({"phase": "Progressing"}, ["rollout started"])  # no transaction left open
    assert store.load() == {"phase": "Progressing"} and [e["line"] for e in store.events()] == ["rollout started"]


def _changed_steps(folder, weight: int | None = None):
    """The Rollout as the controller loads it, after a person edited k8s/ mid-rollout: the first weight changed,
    or only a comment added (``weight`` None)."""
    from bench.designs import variant
    from canary.rollout import spec

    k8s = variant(folder, shadow=False)
    path = k8s / "base" / "rollout.yaml"
    text = path.read_text()
    path.write_text(text.replace("- setWeight: 10", f"- setWeight: {weight}", 1) if weight else "# edited\n" + text)
    return spec.load(k8s)


def test_changed_steps_under_a_running_rollout_are_refused_naming_the_way_out(tmp_path):
    ctrl, store = make(tmp_path)
    ctrl.start("v2")
    ctrl.reconcile()
    step = ctrl.state.step
    assert step >= 1 and store.load()["schema"] == saved.SCHEMA and store.load()["steps_hash"]
    again = {"prometheus_address": "http://prom", "judge_address": "http://judge", "clock": ctrl.clock,
             "emit": lambda line: None}
    resumed = Controller(_changed_steps(tmp_path / "same"), store, ctrl.platform, **again)  # a comment: same steps
    assert resumed.state.step == step
    with pytest.raises(saved.SavedStateError, match="put k8s/ back as it was .* or start the controller with --restart-steps"):
        Controller(_changed_steps(tmp_path / "changed", 20), store, ctrl.platform, **again)
    assert store.load()["step"] == step  # the refusal changed nothing
    over = Controller(_changed_steps(tmp_path / "changed2", 20), store, ctrl.platform, restart_steps=True, **again)
    assert (over.state.step, over.state.weight, over.state.target) == (0, 0, "v2")
    assert isinstance(over.state.history[-1]["at"], float) and over.state.history[-1]["kind"] == "steps changed"
    assert any("--restart-steps starts it over at step 1" in e["line"] for e in store.events())
    over.reconcile()
    assert over.state.weight == 20  # the new steps
    Controller(_changed_steps(tmp_path / "changed3", 20), store, ctrl.platform, **again)  # now saved with them


def test_an_aborted_rollout_resumes_under_changed_steps_and_a_newer_schema_is_refused(tmp_path):
    ctrl, store = make(tmp_path)
    ctrl.start("v2")
    ctrl.abort("by hand")
    again = {"prometheus_address": "http://prom", "judge_address": "http://judge", "clock": ctrl.clock,
             "emit": lambda line: None}
    Controller(_changed_steps(tmp_path / "changed", 20), store, ctrl.platform, **again)  # retry starts at step 1
    store.save({**store.load(), "schema": saved.SCHEMA + 1, "replicas_ready": 2})
    with pytest.raises(saved.SavedStateError, match=r"newer controller \(state schema 3, fields replicas_ready.*move"):
        Controller(ctrl.spec, store, ctrl.platform, **again)
    old = {k: v for k, v in store.load().items() if k not in ("schema", "steps_hash", "replicas_ready")}
    store.save(old)  # as a controller before the schema saved it
    assert Controller(_changed_steps(tmp_path / "c2", 30), store, ctrl.platform, **again).state.aborted
