"""The controller's memory: its state, the event log and the audit log, in SQLite.

A controller killed at any point restarts from the last saved state. A transition's
event lines, the record of a rollout it ended and its new state are one transaction
(``commit``): a crash leaves all of them or none, never an abort in the history with
the rollout still running in the state. Events and audit entries can only be appended:
triggers refuse updates and deletes.
"""

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, line TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rollouts (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, who TEXT NOT NULL,
                                  action TEXT NOT NULL, detail TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS events_append_only_u BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_d BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_u BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_d BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class Store:
    """The controller's state, event log and audit log in one SQLite file."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        """The database file (the dashboard's sessions are kept in it too: canary.dashboard.sessions)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a SIGKILL right after a save keeps the save
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()  # one connection: readers wait for a transaction, never see half of one
        self._clock = clock

    def load(self) -> dict[str, Any] | None:
        """The last saved state, or None for a first start."""
        with self._lock:
            row = self._db.execute("SELECT doc FROM state WHERE id = 1").fetchone()
        return dict(json.loads(row[0])) if row else None

    def save(self, doc: dict[str, Any]) -> None:
        """Replace the saved state (one row, a revision counter)."""
        self.commit(doc)

    def commit(self, doc: dict[str, Any], events: Sequence[str] = (), finished: Sequence[dict[str, Any]] = ()) -> None:
        """One transition, whole or not at all: its event lines, the rollouts it ended and the new state."""
        at = self._clock()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO events (at, line) VALUES (?, ?)", [(at, line) for line in events])
                self._db.executemany("INSERT INTO rollouts (at, doc) VALUES (?, ?)",
                                     [(at, json.dumps(record)) for record in finished])
                self._db.execute("INSERT INTO state (id, revision, doc) VALUES (1, 1, ?) ON CONFLICT(id) DO UPDATE "
                                 "SET revision = revision + 1, doc = excluded.doc", (json.dumps(doc),))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # SQLite rolls back by itself on some errors (a full disk, I/O)
                    self._db.execute("ROLLBACK")
                raise

    def event(self, line: str) -> int:
        """Append an event line; its id."""
        with self._lock:
            return int(self._db.execute("INSERT INTO events (at, line) VALUES (?, ?)", (self._clock(), line)).lastrowid or 0)

    def events(self, after_id: int = 0, limit: int = 200) -> list[dict[str, Any]]:
        """Event lines after ``after_id``, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT id, at, line FROM events WHERE id > ? ORDER BY id DESC LIMIT ?",
                                    (after_id, limit)).fetchall()
        return [{"id": i, "at": at, "line": line} for i, at, line in reversed(rows)]

    def rollouts(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest ended rollouts, newest first."""
        with self._lock:
            rows = self._db.execute("SELECT at, doc FROM rollouts ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{"ended": at, **json.loads(doc)} for at, doc in rows]

    def audit(self, who: str, action: str, detail: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> None:
        """Append who changed what, with the state before and after."""
        with self._lock:
            self._db.execute("INSERT INTO audit (at, who, action, detail, before, after) VALUES (?, ?, ?, ?, ?, ?)",
                             (self._clock(), who, action, json.dumps(detail), json.dumps(before), json.dumps(after)))

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest audit entries, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT at, who, action, detail, before, after FROM audit ORDER BY id DESC "
                                    "LIMIT ?", (limit,)).fetchall()
        return [{"at": at, "who": who, "action": a, "detail": json.loads(d), "before": json.loads(b), "after": json.loads(af)}
                for at, who, a, d, b, af in reversed(rows)]
