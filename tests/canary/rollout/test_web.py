"""Argo's web metric provider against a real HTTP server: statuses, JSON, JSONPath, bodies and their rules."""

import pytest
from fastapi import Request, Response

from canary.local import procs
from canary.rollout import spec
from canary.rollout.interfaces import ProviderError
from canary.rollout.web import NotJSON, WebCall, WebProvider, call_from_argo, compile_path
from canary.webapi import create_app
from tests.apps import served


@pytest.fixture(scope="module")
def server():
    app = create_app("web metric test")
    seen = []

    @app.api_route("/judge", methods=["GET", "POST", "PUT"])
    async def judge(request: Request):
        seen.append((request.method, dict(request.headers), await request.body()))
        return {"decision": "fail", "tests": [{"e_value": 512.0}]}

    @app.get("/status/{code}")
    def status(code: int):
        return Response('{"decision": "pass"}', status_code=code, media_type="application/json")

    @app.get("/text")
    def text():
        return Response("all good", media_type="text/plain")

    for running in served(app, "web-test"):
        running.seen = seen
        yield running


def test_the_first_jsonpath_match_is_the_result_and_the_document_comes_along(server):
    value, doc = WebProvider().call(WebCall(f"{server.url}/judge", json_path="{$.decision}"))
    assert value == "fail" and doc["tests"][0]["e_value"] == 512
    assert WebProvider().call(WebCall(f"{server.url}/judge", json_path="{.tests[0].e_value}"))[0] == 512.0
    assert WebProvider().call(WebCall(f"{server.url}/judge"))[0] == doc  # default {$}: the whole document


@pytest.mark.parametrize("code", [404, 409, 500, 502])
def test_a_non_2xx_answer_is_an_error(server, code):
    with pytest.raises(ProviderError, match=f"non 2xx response code: {code}"):
        WebProvider().call(WebCall(f"{server.url}/status/{code}", json_path="{$.decision}"))


def test_no_match_and_no_answer_are_errors(server):
    with pytest.raises(ProviderError, match="produced no value"):
        WebProvider().call(WebCall(f"{server.url}/judge", json_path="{$.verdict}"))
    with pytest.raises(ProviderError, match="did not answer: ConnectError"):
        WebProvider().call(WebCall(f"http://127.0.0.1:{procs.free_port()}/judge", timeout_s=2))


def test_a_body_that_is_not_json_is_taken_as_it_stands(server):
    value, doc = WebProvider().call(WebCall(f"{server.url}/text", json_path="{$.decision}"))
    assert isinstance(value, NotJSON) and value == "all good" and doc is None


def test_json_body_is_posted_with_its_content_type_and_headers(server):
    call = call_from_argo({"url": f"{server.url}/judge", "method": "POST", "jsonBody": {"canary": "abc"},
                           "headers": [{"key": "X-Team", "value": "ml"}]})
    WebProvider().call(call)
    method, headers, body = server.seen[-1]
    assert method == "POST" and headers["content-type"] == "application/json" and headers["x-team"] == "ml"
    assert body == b'{"canary": "abc"}'


@pytest.mark.parametrize("raw, message", [
    ({"url": "http://x", "body": "a", "jsonBody": {"a": 1}, "method": "POST"}, "either body or jsonBody"),
    ({"url": "http://x", "body": "a"}, "need method POST or PUT"),
    ({"url": "http://x", "method": "DELETE"}, "is not GET, POST or PUT"),
    ({"url": "http://x", "jsonPath": "$.decision"}, "one expression in braces"),
])
def test_what_argo_refuses_is_refused(raw, message):
    with pytest.raises(ValueError, match=message):
        call_from_argo(raw)


def test_a_template_with_a_bad_web_provider_is_a_spec_error():
    doc = {"metadata": {"name": "judge"}, "spec": {"metrics": [
        {"name": "judge", "failureCondition": 'result == "fail"', "provider": {"web": {"url": "http://x", "body": "b"}}}]}}
    with pytest.raises(spec.SpecError, match="metric 'judge': provider.web: body and jsonBody need method POST or PUT"):
        spec.parse_template(doc)


def test_kubernetes_jsonpath_templates():
    assert [m.value for m in compile_path("{$.a.b}").find({"a": {"b": 3}})] == [3]
    assert [m.value for m in compile_path("{.a[1]}").find({"a": [1, 2]})] == [2]


def test_measurements_build_no_http_client_each(server, monkeypatch):
    # A client per call built an SSL context each time: most of the controller's CPU while it asked the judge.
    import httpx

    built = []
    real_init = httpx.Client.__init__
    monkeypatch.setattr(httpx.Client, "__init__", lambda self, *a, **kw: built.append(1) or real_init(self, *a, **kw))
    before = len(server.seen)
    for _ in range(5):
        assert WebProvider().call(WebCall(f"{server.url}/judge", json_path="{$.decision}"))[0] == "fail"
    assert len(server.seen) - before == 5
    assert len(built) <= 1  # the process's one client, if no call before this test built it
