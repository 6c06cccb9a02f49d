"""Requests a local API answers: addressed to a name it was bound for, and no change from another origin.

A page the user visits can point its own DNS name at 127.0.0.1 (DNS rebinding) and then
read a local API as its own origin: the Host header still names the page's domain, so a
service bound to loopback accepts only loopback names. A page can also post across
origins (another site, or another port of 127.0.0.1): a browser names the page's origin
in the Origin header of every POST, so a change whose Origin is not the address it was
sent to is refused. Clients that are not browsers (the CLI, Argo, curl) send no Origin.

Starlette's TrustedHostMiddleware checks the host only, and answers in plain text; every
error of these APIs is ``{"error": ...}``, so this middleware does both checks.
"""

from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = ("127.0.0.1", "localhost", "::1")
ANY = ("*",)  # bound to every interface (a pod): any name reaches it; the origin check stays
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def hosts_for(bind: str) -> tuple[str, ...]:
    """The names a service bound to ``bind`` answers to: any for every interface, else loopback and ``bind``."""
    bind = bind.strip("[]").lower()
    return ANY if bind in ("0.0.0.0", "::", "") else tuple(dict.fromkeys((*LOOPBACK, bind)))


def _address(url: str) -> tuple[str, int] | None:
    """(host name, port) of a URL, the scheme's default port filled in; None when it does not parse."""
    try:
        parts = urlsplit(url)
        return (parts.hostname or "").rstrip("."), parts.port or {"https": 443}.get(parts.scheme, 80)
    except ValueError:  # a port that is no number, an unclosed [
        return None


def refusal(method: str, headers: Headers, hosts: Sequence[str]) -> tuple[int, str] | None:
    """(status, message) when the request must be refused, else None."""
    host = headers.get("host", "")
    addressed = _address(f"http://{host}")
    if addressed is None or (tuple(hosts) != ANY and addressed[0] not in hosts):
        return 400, (f"host {host!r} is not a name of this service ({', '.join(hosts)}): "
                     "a page that re-points its own name at this machine is refused")
    origin = headers.get("origin")
    if method not in SAFE_METHODS and origin is not None and _address(origin) != addressed:
        return 403, f"a change from origin {origin!r} is refused: this service is http://{host}"
    return None


class LocalOrigin:
    """ASGI middleware that refuses what ``refusal`` names, with a JSON error."""

    def __init__(self, app: ASGIApp, hosts: Sequence[str] = LOOPBACK):
        self.app, self.hosts = app, tuple(hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse or pass on."""
        if scope["type"] == "http":
            problem = refusal(scope["method"], Headers(scope=scope), self.hosts)
            if problem is not None:
                await JSONResponse({"error": problem[1]}, status_code=problem[0])(scope, receive, send)
                return
        await self.app(scope, receive, send)
