"""Abort alerts reach real HTTP endpoints, retried, in plain JSON or as Alertmanager alerts."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from canary.rollout import notify

EVENT = {"event": "rollout-aborted", "rollout": "wine", "version": "v2", "message": "RolloutAborted: analysis failed"}


@pytest.fixture
def receiver():
    """A real HTTP server that fails the first ``fail`` POSTs with 503, then answers 200."""
    state = {"fail": 0, "bodies": [], "paths": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            state["paths"].append(self.path)
            state["bodies"].append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            status = 503 if state["fail"] > 0 else 200
            state["fail"] -= 1
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()


def test_plain_json_is_retried_until_it_lands(receiver):
    receiver["fail"] = 2
    lines = []
    notify.send([f"{receiver['url']}/hook"], EVENT, lines.append, sleep=lambda s: None).join(10)
    assert len(receiver["bodies"]) == 3
    assert receiver["bodies"][-1]["version"] == "v2" and "time" in receiver["bodies"][-1]
    assert lines == [f"alert sent to {receiver['url']}/hook (200)"]


def test_gives_up_after_three_attempts_and_says_so(receiver):
    receiver["fail"] = 10
    lines = []
    notify.send([receiver["url"]], EVENT, lines.append, sleep=lambda s: None).join(10)
    assert len(receiver["bodies"]) == 3
    assert lines == [f"alert to {receiver['url']} failed after 3 attempts: HTTP 503"]


def test_alertmanager_gets_an_alert_list(receiver):
    lines = []
    notify.send([f"alertmanager+{receiver['url']}/api/v2/alerts"], EVENT, lines.append, sleep=lambda s: None).join(10)
    assert receiver["paths"] == ["/api/v2/alerts"]
    (alert,) = receiver["bodies"][0]
    assert alert["labels"] == {"alertname": "MLCanaryRolloutAborted", "severity": "critical", "rollout": "wine", "version": "v2"}
    assert alert["annotations"]["description"] == EVENT["message"]
