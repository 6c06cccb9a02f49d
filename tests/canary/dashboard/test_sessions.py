"""The dashboard's login, session cookie and CSRF check, on the real control API app (in process)."""

import pytest
from fastapi.testclient import TestClient

from canary.dashboard.sessions import COOKIE_PREFIX, CSRF_HEADER, Sessions
from canary.local import controlapi
from tests.canary.rollout.test_controller import rig  # noqa: F401 - the controller over fakes

TOKEN = "the-control-token"
HERE = "http://127.0.0.1:8098"  # where the controller serves the dashboard


@pytest.fixture
def app(rig):  # noqa: F811
    make, *_ = rig
    ctrl = make()
    ctrl.start("v2")
    # Nothing listens on port 9 (discard): the proxies' upstreams are down.
    api = controlapi.create(ctrl, TOKEN, stack=None, prometheus_url="http://127.0.0.1:9", judge_url="http://127.0.0.1:9")
    return TestClient(api, base_url=HERE), ctrl


def login(client: TestClient, user: str = "alice") -> str:
    answer = client.post("/login", json={"token": TOKEN, "user": user})
    assert answer.status_code == 200, answer.text
    return answer.json()["csrf"]


def test_the_page_and_plotly_are_served_from_the_controller_itself(app):
    client, _ = app
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/static/plotly.min.js">' in page.text and "cdn" not in page.text.lower()
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and plotly.headers["content-type"].startswith("text/javascript")
    assert len(plotly.content) > 1_000_000
    assert client.get("/static/controls.js").status_code == 200
    assert client.get("/static/..%2Fsessions.py").status_code == 404


def test_reads_work_without_login_and_say_why_each_control_is_off(app):
    client, _ = app
    doc = client.get("/rollout").json()
    assert doc["controls"]["rollout"].startswith("a rollout to v2 is progressing")
    assert doc["controls"]["abort"] is None and doc["controls"]["retry"].startswith("retry applies to an aborted")
    assert client.get("/session").json() == {"logged_in": False}


def test_a_control_without_login_is_refused_and_changes_nothing(app):
    client, ctrl = app
    answer = client.post("/abort")
    assert answer.status_code == 401 and "log in first" in answer.json()["error"]
    assert ctrl.state.phase == "Progressing" and ctrl.store.audit_log() == []


def test_the_login_cookie_is_httponly_and_samesite_strict(app):
    client, _ = app
    answer = client.post("/login", json={"token": TOKEN, "user": "alice"})
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith(COOKIE_PREFIX) and "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert TOKEN not in cookie


def test_a_wrong_token_or_a_bad_name_logs_nobody_in(app):
    client, _ = app
    wrong = client.post("/login", json={"token": "guess", "user": "mallory"})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    bad = client.post("/login", json={"token": TOKEN, "user": "<script>"})
    assert bad.status_code == 422 and "user" in bad.json()["error"]
    assert client.get("/session").json() == {"logged_in": False}


def test_a_session_without_its_csrf_token_is_refused(app):
    client, ctrl = app
    login(client)
    for headers in ({}, {CSRF_HEADER: "forged"}):
        answer = client.post("/abort", headers=headers)
        assert answer.status_code == 403 and "CSRF" in answer.json()["error"]
    assert ctrl.state.phase == "Progressing"


def test_a_session_with_its_csrf_token_acts_and_is_audited_as_its_user(app):
    client, ctrl = app
    csrf = login(client, "alice")
    # The browser cannot claim another name: the session's user is what the audit log records.
    answer = client.post("/abort", headers={CSRF_HEADER: csrf, "X-Canary-User": "root"})
    assert answer.status_code == 200 and ctrl.state.phase == "Degraded"
    entry = ctrl.store.audit_log()[-1]
    assert (entry["who"], entry["action"], entry["after"]["phase"]) == ("alice", "abort", "Degraded")


def test_logout_ends_the_session(app):
    client, _ = app
    csrf = login(client)
    assert client.post("/logout").status_code == 204
    assert client.post("/pause", headers={CSRF_HEADER: csrf}).status_code == 401


def test_the_cli_token_still_works_without_a_session(app):
    client, ctrl = app
    answer = client.post("/pause", headers={"Authorization": f"Bearer {TOKEN}", "X-Canary-User": "bob"})
    assert answer.status_code == 200 and ctrl.store.audit_log()[-1]["who"] == "bob"
    wrong = client.post("/resume", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and ctrl.state.paused


def test_a_login_link_works_once_and_leaves_no_code_in_the_address(app):
    client, _ = app
    assert client.post("/login-codes").status_code == 401  # only the token holder may make one
    path = client.post("/login-codes", headers={"Authorization": f"Bearer {TOKEN}", "X-Canary-User": "carol"}).json()["path"]
    browser = TestClient(client.app, base_url=HERE)
    first = browser.get(path, follow_redirects=False)
    assert first.status_code == 303 and first.headers["set-cookie"].startswith(COOKIE_PREFIX)
    where, csrf = first.headers["location"].split("#csrf=")  # after '#': no server sees it
    assert where == "/" and code_of(path) not in first.headers["location"]
    assert browser.get("/session").json() == {"logged_in": True, "user": "carol"}
    assert browser.post("/pause", headers={CSRF_HEADER: csrf}).status_code == 200
    again = TestClient(client.app, base_url=HERE).get(path, follow_redirects=False)
    assert again.status_code == 401 and "set-cookie" not in again.headers


def test_a_page_that_rebinds_its_name_to_this_machine_reads_nothing(app):
    client, _ = app
    rebound = TestClient(client.app, base_url="http://attacker.example:8098")  # its DNS now says 127.0.0.1
    for path in ("/rollout", "/events", "/audit", "/prometheus/api/v1/query?query=up"):
        answer = rebound.get(path)
        assert answer.status_code == 400 and "attacker.example" in answer.json()["error"], path


def test_a_logged_in_browser_changes_nothing_from_another_origin(app):
    client, ctrl = app
    csrf = login(client)
    for origin in ("http://127.0.0.1:9999", "https://attacker.example"):  # another local port; another site
        answer = client.post("/abort", headers={CSRF_HEADER: csrf, "Origin": origin})
        assert answer.status_code == 403 and origin in answer.json()["error"]
    assert ctrl.state.phase == "Progressing" and ctrl.store.audit_log() == []
    answer = client.post("/pause", headers={CSRF_HEADER: csrf, "Origin": HERE})  # the dashboard itself
    assert answer.status_code == 200 and ctrl.state.paused


def code_of(path: str) -> str:
    """The one-time code in a login link's path."""
    return path.split("code=")[1]


def test_a_cookie_replayed_from_another_port_reads_no_csrf_token_and_changes_nothing(app):
    client, ctrl = app
    login(client)
    stolen = dict(client.cookies)  # what a server on another port of 127.0.0.1 receives from the browser
    thief = TestClient(client.app, base_url=HERE, cookies=stolen)
    assert thief.get("/session").json() == {"logged_in": True, "user": "alice"}  # no "csrf" in it
    for headers in ({}, {CSRF_HEADER: ""}):
        assert thief.post("/abort", headers=headers).status_code == 403
    assert ctrl.state.phase == "Progressing" and ctrl.store.audit_log() == []


def test_the_cookie_is_named_per_controller_and_sessions_outlive_a_restart(app, tmp_path):
    client, ctrl = app
    csrf = login(client)
    again = controlapi.create(ctrl, "a-new-token", stack=None, prometheus_url="http://127.0.0.1:9",
                              judge_url="http://127.0.0.1:9")  # the controller restarted on the same database
    browser = TestClient(again, base_url=HERE, cookies=dict(client.cookies))
    assert browser.post("/pause", headers={CSRF_HEADER: csrf}).status_code == 200 and ctrl.state.paused
    other = Sessions(TOKEN, tmp_path / "another-controller.db")
    assert other.cookie != Sessions(TOKEN, ctrl.store.path).cookie and other.cookie.startswith(COOKIE_PREFIX)
    stored = b"".join(f.read_bytes() for f in ctrl.store.path.parent.glob(f"{ctrl.store.path.name}*"))  # and -wal
    assert dict(client.cookies).popitem()[1].encode() not in stored and csrf.encode() not in stored


def test_a_session_expires():
    now = [0.0]
    sessions = Sessions(TOKEN, ttl_s=60, clock=lambda: now[0])
    sid, csrf = sessions.open("erin")
    assert sessions.get(sid).user == "erin" and sessions.get(sid).csrf_ok(csrf) and not sessions.get(sid).csrf_ok("x")
    now[0] = 61
    assert sessions.get(sid) is None


def test_a_login_code_expires():
    now = [0.0]
    sessions = Sessions(TOKEN, code_ttl_s=60, clock=lambda: now[0])
    code = sessions.new_code("dave")
    now[0] = 61
    assert sessions.redeem(code) is None


def test_the_proxies_pass_only_what_the_page_needs(app):
    client, _ = app
    assert client.get("/prometheus/api/v1/labels").status_code == 404
    assert client.get("/prometheus/api/v1/admin/tsdb/delete_series").status_code == 404
    down = client.get("/prometheus/api/v1/query", params={"query": "up"})
    assert down.status_code == 502 and "did not answer" in down.json()["error"]
    assert client.post("/prometheus/api/v1/query").status_code == 405
