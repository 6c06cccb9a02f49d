"""Local APIs answer only requests addressed to them, and take no change from another origin: a real
uvicorn server, asked as a browser on a rebinding page or on another local port would ask."""

import httpx
import pytest
from fastapi.testclient import TestClient

from canary.judge import service
from canary.judge.settings import JudgeSettings
from canary.local.procs import free_port
from canary.origin import ANY, LOOPBACK, hosts_for
from canary.webapi import ServerThread, create_app


@pytest.fixture
def local():
    """A loopback API with a read and a change, served by uvicorn: its address."""
    app, changed = create_app("origin test"), []

    @app.get("/state")
    def state() -> dict:
        return {"changed": len(changed)}

    @app.post("/change")
    def change() -> dict:
        changed.append(1)
        return {"changed": len(changed)}

    port = free_port()
    server = ServerThread(app, port, "origin-test").start()
    yield f"http://127.0.0.1:{port}", changed
    server.stop()


def test_a_foreign_host_name_is_refused_and_loopback_names_are_not(local):
    url, _ = local
    port = url.rsplit(":", 1)[1]
    refused = httpx.get(f"{url}/state", headers={"Host": f"rebound.example:{port}"})
    assert refused.status_code == 400 and "rebound.example" in refused.json()["error"]
    for name in ("127.0.0.1", "localhost", "[::1]"):
        assert httpx.get(f"{url}/state", headers={"Host": f"{name}:{port}"}).status_code == 200, name


def test_a_change_from_another_origin_is_refused_and_changes_nothing(local):
    url, changed = local
    other_port = url.rsplit(":", 1)[0] + ":1"
    for origin in (other_port, "http://rebound.example", "null"):
        answer = httpx.post(f"{url}/change", headers={"Origin": origin})
        assert answer.status_code == 403 and origin in answer.json()["error"], origin
    assert changed == []
    assert httpx.post(f"{url}/change", headers={"Origin": url}).json() == {"changed": 1}  # its own page
    assert httpx.post(f"{url}/change").json() == {"changed": 2}  # not a browser: the CLI, curl


def test_the_judge_in_a_pod_answers_any_name_and_on_loopback_only_its_own():
    assert hosts_for("0.0.0.0") == ANY and hosts_for("127.0.0.1") == LOOPBACK
    for bind, status in (("0.0.0.0", 200), ("127.0.0.1", 400)):
        judge = service.create(JudgeSettings(host=bind, prometheus_url="http://127.0.0.1:9"))
        answer = TestClient(judge, base_url="http://ml-canary-judge.ml-canary.svc:8080").get("/healthz")
        assert answer.status_code == status, bind


def test_a_malformed_or_missing_host_is_a_400_and_a_malformed_origin_a_403_both_json(local):
    url, changed = local
    port = url.rsplit(":", 1)[1]
    for host in ("[::1", f"127.0.0.1:{port}x"):
        answer = httpx.get(f"{url}/state", headers={"Host": host})
        assert answer.status_code == 400 and "error" in answer.json(), host
    answer = httpx.post(f"{url}/change", headers={"Origin": "http://[::1"})
    assert answer.status_code == 403 and "error" in answer.json() and changed == []
    # Host names are case-insensitive, and the scheme's default port is the same as no port.
    assert httpx.post(f"{url}/change", headers={"Origin": url.upper().replace("HTTP", "http")}).status_code == 200
    assert hosts_for("[::]") == ANY and "example.internal" in hosts_for("Example.Internal")
