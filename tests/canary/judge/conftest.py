"""A real Prometheus scraping counters the test sets, per revision, as Envoy's would look after the scrape."""

import json
import time
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
import yaml
from fastapi import Response
from fastapi.testclient import TestClient

from canary.judge import service
from canary.judge.settings import JudgeSettings
from canary.local import procs, prometheus_config
from canary.webapi import ServerThread, create_app
from tests.k8s.support import require_binary
from tests.waiting import wait_until

RQ, BUCKET = "envoy_cluster_upstream_rq_xx", "envoy_cluster_upstream_rq_time_bucket"
FEEDBACK, PREDICTIONS = "mlcanary_feedback_total", "mlcanary_predictions_total"
BUCKETS = (5.0, 10.0, 20.0, 50.0, float("inf"))
TAIL_TOP = 50.0  # ``tail`` answers lie in the bucket below this edge, (20, 50]


class Traffic(NamedTuple):
    """A revision's request counters to reach: requests, 5xx, answers slower than every bucket, tail answers."""

    revision: str
    requests: int
    errors: int = 0
    slow: int = 0
    tail: int = 0


class Exporter:
    """Per-revision counters served at /<revision>; ``set`` changes them, ``wait_scraped`` waits for Prometheus."""

    def __init__(self):
        self.values: dict[str, dict[tuple, float]] = {}
        self.served: dict[str, Traffic] = {}
        app = create_app("test exporter")

        @app.get("/{revision}")
        def metrics(revision: str) -> Response:
            lines = [name + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "} " + f"{value:g}"
                     for (name, labels), value in self.values.get(revision, {}).items()]
            return Response("\n".join(lines) + "\n", media_type="text/plain")

        self.port = procs.free_port()
        self.server = ServerThread(app, self.port, "exporter").start()

    def set(self, revision: str, requests: int, errors: int = 0, slow: int = 0, tail: int = 0) -> None:
        """Counters of one revision: requests (2xx + 5xx), 5xx, answers slower than every finite bucket,
        and ``tail`` answers between the 20 and 50 ms buckets (the rest under 5 ms)."""
        values = dict(self.values.get(revision, {}))  # a new dict, swapped in whole: a scrape sees all or none
        self.served[revision] = Traffic(revision, requests, errors, slow, tail)
        values[RQ, (("envoy_response_code_class", "2"),)] = requests - errors
        values[RQ, (("envoy_response_code_class", "5"),)] = errors
        for le in BUCKETS:
            text = "+Inf" if le == float("inf") else f"{le:g}"
            beyond = 0 if le == float("inf") else slow + (tail if le < TAIL_TOP else 0)
            values[BUCKET, (("le", text),)] = requests - beyond
        self.values[revision] = values

    def set_quality(self, revision: str, incorrect: int, feedback: int, classes: dict[str, int]) -> None:
        """A runtime's counters: feedback by outcome, predictions by class."""
        values = dict(self.values.get(revision, {}))
        values[FEEDBACK, (("outcome", "correct"),)] = feedback - incorrect
        values[FEEDBACK, (("outcome", "incorrect"),)] = incorrect
        for name, n in classes.items():
            values[PREDICTIONS, (("predicted_class", name),)] = n
        self.values[revision] = values

    def targets(self, revisions: list[str]) -> list[dict]:
        """Prometheus file_sd groups: one target per revision, labelled with it."""
        return [{"targets": [f"127.0.0.1:{self.port}"], "labels": {"revision": r, "__metrics_path__": f"/{r}"}}
                for r in revisions]


class Prometheus:
    """A real Prometheus, scraping every 200 ms what the exporter serves."""

    def __init__(self, folder: Path, exporter: Exporter):
        self.folder, self.exporter, self.port = folder, exporter, procs.free_port()
        config = {"global": {"scrape_interval": "200ms", "scrape_timeout": "200ms"},
                  "scrape_configs": [{"job_name": "revisions", "file_sd_configs": [
                      {"files": [str(folder / "targets.json")], "refresh_interval": "1s"}]}]}
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        # Targets reach the scrape loop at most every 5 s: register a pool of revisions up front.
        self.pool = [f"r{i:09d}" for i in range(60)]
        self.revisions(self.pool)
        binary = require_binary("prometheus", "Debian package prometheus")
        cmd = prometheus_config.command(binary, folder / "prometheus.yml", folder / "data", self.port)
        self.process = procs.start(cmd, folder / "prometheus.log", {})
        procs.wait_http_ok(self.process, f"{self.url}/-/ready", 60)

    @property
    def url(self) -> str:
        """Its HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def revisions(self, names: list[str]) -> None:
        """Scrape these revisions from now on (besides those already scraped)."""
        self.scraped = sorted(set(getattr(self, "scraped", [])) | set(names))
        (self.folder / "targets.json").write_text(json.dumps(self.exporter.targets(self.scraped)))

    def fresh(self) -> tuple[str, str]:
        """Two revisions nobody has used: a canary and a stable."""
        return self.pool.pop(), self.pool.pop()

    def serve(self, revision: str, requests: int, errors: int = 0, slow: int = 0, tail: int = 0) -> None:
        """Set a revision's counters and wait until Prometheus has scraped them."""
        self.exporter.set(revision, requests, errors, slow, tail)
        self.revisions([revision])
        self.wait_scraped(revision, requests)

    def serve_together(self, *totals: Traffic, steps: int = 4) -> None:
        """Move several revisions' counters to these totals together, as traffic to all of them does: in
        ``steps`` steps, each waiting for its scrapes. One revision's jump alone in a judge's cell tells the
        count test nothing (that cell's traffic is all its own), and targets are scraped at their own offsets:
        a jump each, one after the other, may fall into two cells. Counters only grow here, and each step
        waits on the requests, so every revision's requests must grow by at least ``steps``."""
        before = {t.revision: self.exporter.served.get(t.revision, Traffic(t.revision, 0)) for t in totals}
        for t in totals:
            grown = [b - a for a, b in zip(before[t.revision][1:], t[1:])]  # requests first, then the events
            assert grown[0] >= steps and min(grown) >= 0, f"not traffic: {before[t.revision]} -> {t}"
        self.revisions(list(before))
        for step in range(1, steps + 1):
            # Every revision the same share of its change: the canary's part of each step's traffic stays its share.
            now = [Traffic(t.revision, *(round(a + (b - a) * step / steps)
                                         for a, b in zip(before[t.revision][1:], t[1:]))) for t in totals]
            for t in now:
                self.exporter.set(*t)
            for t in now:
                self.wait_scraped(t.revision, t.requests)

    def serve_quality(self, revision: str, incorrect: int, feedback: int, classes: dict[str, int]) -> None:
        """Set a revision's feedback and prediction counters and wait until Prometheus has scraped them."""
        self.exporter.set_quality(revision, incorrect, feedback, classes)
        self.revisions([revision])
        self.wait_scraped(revision, feedback + sum(classes.values()), f"{FEEDBACK}|{PREDICTIONS}")

    def wait_scraped(self, revision: str, requests: int, metric: str = RQ) -> None:
        """Until Prometheus holds this count (summed over ``metric``, a name pattern) for the revision."""
        query = f'sum({{__name__=~"{metric}",revision="{revision}"}})'

        def seen():
            result = httpx.get(f"{self.url}/api/v1/query", params={"query": query}).json()["data"]["result"]
            return result and float(result[0]["value"][1]) == requests

        wait_until(seen, 30, f"Prometheus to scrape {requests} of {metric} of {revision}")


@pytest.fixture(scope="module")
def exporter():
    running = Exporter()
    yield running
    running.server.stop()


@pytest.fixture(scope="module")
def prometheus(exporter, tmp_path_factory):
    running = Prometheus(tmp_path_factory.mktemp("prometheus"), exporter)
    yield running
    running.process.stop()


@pytest.fixture
def judge(prometheus):
    """The judge's API over the real Prometheus; ``judge.make(**settings)`` for other settings."""
    def make(clock=time.time, **settings) -> TestClient:
        return TestClient(service.create(JudgeSettings(**{"prometheus_url": prometheus.url, **settings}), clock=clock),
                          base_url="http://127.0.0.1")

    client = make()
    client.make = make
    return client
