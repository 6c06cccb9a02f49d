"""One pooled HTTP client per process, for the many small calls to local services (probes, the judge, Envoy's admin).

``httpx.get()`` builds a Client per call, and with it an SSL context that loads the CA
bundle, plain HTTP or not: that was 83% of the controller's CPU while it asked the judge
twice a second, and 90% of the stack's while it answered status calls (``python -m
bench.cost`` under py-spy). One client per process keeps its connections open too;
httpx clients may be shared between threads.
"""

import functools
import http.cookiejar

import httpx


@functools.cache
def client() -> httpx.Client:
    """The process's client; every caller passes its own timeout."""
    # No cookies: one service's cookie must not reach another (Argo's web provider keeps none). Idle connections
    # closed before uvicorn's own 5 s keep-alive ends, so a call every few seconds never meets a closed one.
    return httpx.Client(cookies=http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[])),
                        limits=httpx.Limits(keepalive_expiry=2.0))
