"""Who may press the dashboard's buttons: a login that sets a session cookie, a CSRF token per session.

The control token is what the CLI sends as ``Authorization: Bearer``; a browser trades it
once, on the login form, for a session: an HttpOnly, SameSite=Strict cookie the page's
script cannot read, and a CSRF token sent back in a header on every change.

Cookies ignore ports, so any other server on 127.0.0.1 the browser visits receives the
cookie. The CSRF token is therefore never handed out for the cookie: it is given once,
in the login's answer (or the login link's redirect, after a ``#``, which no server
sees), and the page keeps it in its origin's storage, which another port cannot read.
The cookie is named per controller (``canary_session_<instance>``), so two controllers
on one machine do not log each other out. Sessions live in the controller's database,
hashed and expiring, so a restarted controller keeps them.
"""

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import Header, HTTPException, Request

COOKIE_PREFIX = "canary_session_"
CSRF_HEADER = "X-CSRF-Token"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS dashboard_instance (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dashboard_sessions (sid TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,
                                               expires REAL NOT NULL);
"""


def _digest(secret: str) -> str:
    """What the database keeps of a session id or CSRF token: reading the file logs nobody in."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    """A logged-in browser: its user (for the audit log) and its CSRF token's digest."""

    user: str
    csrf_digest: str
    expires: float

    def csrf_ok(self, token: str) -> bool:
        """Whether ``token`` is this session's CSRF token (compared in constant time)."""
        return hmac.compare_digest(_digest(token), self.csrf_digest)


class Sessions:
    """Sessions in the controller's SQLite file (``:memory:`` alone); one-time login codes in memory."""

    def __init__(self, token: str, db: Path | str = ":memory:", ttl_s: float = 12 * 3600, code_ttl_s: float = 60,
                 clock: Callable[[], float] = time.time):
        self._token, self.ttl_s, self._code_ttl, self._clock = token, ttl_s, code_ttl_s, clock
        self._db = sqlite3.connect(str(db), check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO dashboard_instance (id, name) VALUES (1, ?)", (secrets.token_hex(4),))
        self.cookie = COOKIE_PREFIX + self._db.execute("SELECT name FROM dashboard_instance").fetchone()[0]
        """This controller's cookie name."""
        self._codes: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token_ok(self, token: str) -> bool:
        """Whether ``token`` is the control token (compared in constant time)."""
        return hmac.compare_digest(token.encode(), self._token.encode())

    def open(self, user: str) -> tuple[str, str]:
        """A new session for ``user``: its id (the cookie's value) and its CSRF token, both given only now."""
        sid, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), self._clock()
        with self._lock:
            self._db.execute("DELETE FROM dashboard_sessions WHERE expires < ?", (now,))
            self._db.execute("INSERT INTO dashboard_sessions VALUES (?, ?, ?, ?)",
                             (_digest(sid), user, _digest(csrf), now + self.ttl_s))
        return sid, csrf

    def get(self, sid: str | None) -> Session | None:
        """The live session with this id, if any."""
        with self._lock:
            row = self._db.execute("SELECT user, csrf, expires FROM dashboard_sessions WHERE sid = ?",
                                   (_digest(sid or ""),)).fetchone()
        return Session(*row) if row and row[2] >= self._clock() else None

    def close(self, sid: str | None) -> None:
        """Log out."""
        with self._lock:
            self._db.execute("DELETE FROM dashboard_sessions WHERE sid = ?", (_digest(sid or ""),))

    def new_code(self, user: str) -> str:
        """A one-time login code for ``user``, valid for a minute."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes = {c: v for c, v in self._codes.items() if v[1] >= self._clock()}
            self._codes[code] = (user, self._clock() + self._code_ttl)
        return code

    def redeem(self, code: str) -> str | None:
        """The user of a valid code, which is spent; None otherwise."""
        with self._lock:
            user, expires = self._codes.pop(code, ("", 0.0))
        return user if user and expires >= self._clock() else None


def control_user(sessions: Sessions, bearer: Callable[[str], None], hint: str) -> Callable[..., str]:
    """A dependency for every change: ``bearer`` (canary.webapi.token_check, the CLI's way) when the request
    carries an Authorization header, else a session with its CSRF header (a browser's). It returns who is
    acting, for the audit log; 401 without either, 403 on a bad CSRF token."""

    def check(request: Request, authorization: str = Header(default=""),
              x_canary_user: str = Header(default="unknown")) -> str:
        if authorization:
            bearer(authorization)
            return x_canary_user
        session = sessions.get(request.cookies.get(sessions.cookie))
        if session is None:
            raise HTTPException(401, f"log in first (the dashboard's login, or a token: {hint})")
        if not session.csrf_ok(request.headers.get(CSRF_HEADER, "")):
            raise HTTPException(403, f"CSRF check failed: send the token the login gave in {CSRF_HEADER}")
        return session.user

    return check
