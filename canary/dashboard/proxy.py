"""Read-only proxies, so the page talks to one origin: Prometheus' query API and the judge's last answers.

Only the paths the page needs pass, GET only, and the answer comes back as the
upstream gave it (Prometheus' own 400 for a bad query, say); an upstream that does
not answer is a 502.
"""

import httpx
from fastapi import APIRouter, HTTPException, Request, Response

PROMETHEUS_PATHS = ("query", "query_range")


def _forward(client: httpx.Client, url: str, request: Request) -> Response:
    try:
        upstream = client.get(url, params=list(request.query_params.multi_items()))
    except httpx.HTTPError as exc:
        raise HTTPException(502, f"{url} did not answer: {type(exc).__name__}") from None
    return Response(upstream.content, status_code=upstream.status_code,
                    media_type=upstream.headers.get("content-type", "application/json"))


def router(prometheus_url: str, judge_url: str, timeout_s: float = 5.0) -> APIRouter:
    """GET /prometheus/api/v1/{query,query_range} and GET /judge/v1/analyses."""
    api, client = APIRouter(), httpx.Client(timeout=timeout_s)

    @api.get("/prometheus/api/v1/{name}")
    def prometheus(name: str, request: Request) -> Response:
        if name not in PROMETHEUS_PATHS:
            raise HTTPException(404, f"only {', '.join(PROMETHEUS_PATHS)} are proxied")
        return _forward(client, f"{prometheus_url}/api/v1/{name}", request)

    @api.get("/judge/v1/analyses")
    def analyses(request: Request) -> Response:
        return _forward(client, f"{judge_url}/v1/analyses", request)

    return api
