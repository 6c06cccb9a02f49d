"""Argo's ``web`` metric provider: an HTTP call whose JSON answer, narrowed by a JSONPath, is the result.

Rules from argo-rollouts metricproviders/webmetric/webmetric.go (``Run``, ``parseResponse``,
``getValue``, ``NewWebMetricHttpClient``): GET unless ``method`` says otherwise; ``body``
and ``jsonBody`` exclude each other and need POST or PUT; a transport error, a
timeout (default 10 s) or a non-2xx status is an Error measurement; a body that is
not JSON is Successful as it stands, without conditions; the first JSONPath match
is the result (none: Error); the conditions are then evaluated on that value.
"""

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from jsonpath_ng import JSONPath
from jsonpath_ng.exceptions import JsonPathParserError
from jsonpath_ng.parser import parse as jsonpath

from canary import pooled
from canary.rollout.interfaces import ProviderError

DEFAULT_TIMEOUT_S = 10
_TEMPLATE = re.compile(r"^\{\s*(\$?)(.*?)\s*\}$")


class NotJSON(str):
    """A body Argo takes as it stands: the measurement is Successful, conditions unread."""


@dataclass(frozen=True)
class WebCall:
    """One metric's call: method, URL, headers, body, timeout and the k8s-style JSONPath (``{$.decision}``)."""

    url: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    json_path: str = "{$}"


@functools.lru_cache(maxsize=256)  # jsonpath-ng's parser takes 0.2 ms a parse, and a metric is asked every interval
def compile_path(template: str) -> JSONPath:
    """A Kubernetes JSONPath template of one expression (``{$.a.b}``, ``{.a[0]}``) as a jsonpath-ng path."""
    match = _TEMPLATE.match(template.strip())
    if not match:
        raise ValueError(f"jsonPath {template!r}: write one expression in braces, e.g. {{$.decision}}")
    try:
        return jsonpath("$" + match.group(2) if match.group(2) else "$")
    except (JsonPathParserError, Exception) as exc:  # noqa: BLE001 - the parser raises several kinds
        raise ValueError(f"jsonPath {template!r}: {exc}") from None


class WebProvider:
    """Runs a WebCall; every failure is a ProviderError, which the controller records as Error."""

    def call(self, web: WebCall) -> tuple[object, dict[str, Any] | None]:
        """The first JSONPath match of the JSON answer (or a NotJSON string), and the whole document."""
        try:
            response = pooled.client().request(web.method, web.url, headers=dict(web.headers), content=web.body,
                                     timeout=web.timeout_s)
        except httpx.HTTPError as exc:
            raise ProviderError(f"{web.method} {web.url} did not answer: {type(exc).__name__}") from None
        if not 200 <= response.status_code < 300:
            detail = response.text[:200].strip()
            raise ProviderError(f"received non 2xx response code: {response.status_code} {detail}")
        try:
            data = orjson.loads(response.content)  # the judge's answers, several a second: a faster parser than json
        except ValueError:
            return NotJSON(response.text), None
        found = compile_path(web.json_path).find(data)
        if not found:
            raise ProviderError(f"result of web metric produced no value (jsonPath {web.json_path})")
        return found[0].value, data if isinstance(data, dict) else None


def call_from_argo(raw: dict[str, Any]) -> WebCall:
    """A WebCall from an AnalysisTemplate's ``provider.web``; ValueError names what is wrong."""
    method = raw.get("method", "GET")
    if method not in ("GET", "POST", "PUT"):
        raise ValueError(f"method {method!r} is not GET, POST or PUT")
    if raw.get("body") and raw.get("jsonBody") is not None:
        raise ValueError("use either body or jsonBody, not both")
    body = raw.get("body") or (json.dumps(raw["jsonBody"]) if raw.get("jsonBody") is not None else None)
    if body is not None and method == "GET":
        raise ValueError("body and jsonBody need method POST or PUT")
    headers = tuple((h["key"], h["value"]) for h in raw.get("headers", []))
    if raw.get("jsonBody") is not None:
        headers += (("Content-Type", "application/json"),)
    json_path = raw.get("jsonPath") or "{$}"
    compile_path(json_path)
    timeout = raw.get("timeoutSeconds") or DEFAULT_TIMEOUT_S
    return WebCall(raw["url"], method, headers, body, float(timeout), json_path)
