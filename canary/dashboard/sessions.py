"""Who may press the dashboard's buttons: a login that sets a session cookie, a CSRF token per session.

The control token is what the CLI sends as ``Authorization: Bearer``; a browser trades it
once, on the login form, for a session: an HttpOnly, SameSite=Strict cookie the page's
script cannot read, and a CSRF token the page reads from ``GET /session`` and sends back
in a header on every change. SameSite=Strict already keeps other sites' forms from
carrying the cookie; the header check also covers a browser that ignores SameSite.
``canary dashboard --open`` logs a browser in with a one-time code, which the login
redirect removes from the address bar.
"""

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from fastapi import Header, HTTPException, Request

COOKIE = "canary_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Session:
    """A logged-in browser: its user (for the audit log) and its CSRF token."""

    user: str
    csrf: str
    expires: float


class Sessions:
    """Sessions and one-time login codes in memory: a restarted controller logs everyone out."""

    def __init__(self, token: str, ttl_s: float = 12 * 3600, code_ttl_s: float = 60, clock=time.monotonic):
        self._token, self.ttl_s, self._code_ttl, self._clock = token, ttl_s, code_ttl_s, clock
        self._sessions: dict[str, Session] = {}
        self._codes: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token_ok(self, token: str) -> bool:
        """Whether ``token`` is the control token (compared in constant time)."""
        return hmac.compare_digest(token.encode(), self._token.encode())

    def open(self, user: str) -> str:
        """A new session for ``user``; its id, the cookie's value."""
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[sid] = Session(user, secrets.token_urlsafe(32), self._clock() + self.ttl_s)
        return sid

    def get(self, sid: str | None) -> Session | None:
        """The live session with this id, if any."""
        with self._lock:
            session = self._sessions.get(sid or "")
            if session and session.expires < self._clock():
                del self._sessions[sid]
                return None
            return session

    def close(self, sid: str | None) -> None:
        """Log out."""
        with self._lock:
            self._sessions.pop(sid or "", None)

    def new_code(self, user: str) -> str:
        """A one-time login code for ``user``, valid for a minute."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = (user, self._clock() + self._code_ttl)
        return code

    def redeem(self, code: str) -> str | None:
        """The user of a valid code, which is spent; None otherwise."""
        with self._lock:
            user, expires = self._codes.pop(code, ("", 0.0))
        return user if user and expires >= self._clock() else None


def control_user(sessions: Sessions, bearer, hint: str):
    """A dependency for every change: ``bearer`` (canary.webapi.token_check, the CLI's way) when the request
    carries an Authorization header, else a session with its CSRF header (a browser's). It returns who is
    acting, for the audit log; 401 without either, 403 on a bad CSRF token."""

    def check(request: Request, authorization: str = Header(default=""),
              x_canary_user: str = Header(default="unknown")) -> str:
        if authorization:
            bearer(authorization)
            return x_canary_user
        session = sessions.get(request.cookies.get(COOKIE))
        if session is None:
            raise HTTPException(401, f"log in first (the dashboard's login, or a token: {hint})")
        if not hmac.compare_digest(request.headers.get(CSRF_HEADER, "").encode(), session.csrf.encode()):
            raise HTTPException(403, f"CSRF check failed: send the session's token in {CSRF_HEADER} (GET /session)")
        return session.user

    return check
