"""Two judge replicas share the shadow phase's answers, and a restart loses none of them: the runtimes'
real reporters shard the answers by request id, a real Prometheus scrapes both judges' joined counts,
and either judge answers the disagreement test from their sum."""

import time

import httpx
import numpy as np
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from canary.judge import service
from canary.judge.settings import JudgeSettings
from canary.judge.source import PAIRS_TOTAL
from canary.local import procs, prometheus_config
from canary.webapi import ServerThread
from servers.answers import AnswerReporter, AnswerSettings
from tests.k8s.support import require_binary
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

TOKEN = "answers-token"
HOSTS = ("127.0.0.10", "127.0.0.11")  # two replicas on one port, as two pods' addresses: shard k is 127.0.0.1k


class Replicas:
    """Two judges scraped by one Prometheus every 200 ms; ``restart`` replaces one with a fresh process state."""

    def __init__(self, folder):
        self.port, prom_port = procs.free_port(), procs.free_port()
        targets = [f"{host}:{self.port}" for host in HOSTS]
        (folder / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "200ms", "scrape_timeout": "200ms"},
            "scrape_configs": [{"job_name": "judge", "static_configs": [{"targets": targets}]}]}))
        binary = require_binary("prometheus", "Debian package prometheus")
        self.prometheus = procs.start(prometheus_config.command(binary, folder / "prometheus.yml", folder / "data",
                                                                prom_port), folder / "prometheus.log", {})
        procs.wait_http_ok(self.prometheus, f"http://127.0.0.1:{prom_port}/-/ready", 60)
        self.settings = [JudgeSettings(prometheus_url=f"http://127.0.0.1:{prom_port}", answers_token=TOKEN,
                                       host=host, port=self.port) for host in HOSTS]
        self.servers = [self._serve(k) for k in range(len(HOSTS))]

    def _serve(self, k: int) -> ServerThread:
        return ServerThread(service.create(self.settings[k]), self.port, f"judge-{k}", HOSTS[k]).start()

    def restart(self, k: int) -> None:
        """Replica k stops and starts again: its joined counts, and every analysis it held, are gone."""
        self.servers[k].stop()
        self.servers[k] = self._serve(k)

    def ask(self, k: int, since: float) -> dict:
        """Replica k's disagreement test of canary t1 against stable s1 (exported as revision s1, peer t1)."""
        params = {"canary": "t1", "stable": "s1", "weight": 0, "tests": "disagreement", "since": since}
        return httpx.get(f"http://{HOSTS[k]}:{self.port}/v1/judge", params=params, timeout=10).json()["tests"][0]

    def joined(self, k: int) -> float:
        """The pairs replica k itself joined (its /metrics)."""
        text = httpx.get(f"http://{HOSTS[k]}:{self.port}/metrics", timeout=10).text
        return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                   if s.name == PAIRS_TOTAL)

    def close(self) -> None:
        """Stop both judges and Prometheus."""
        for server in self.servers:
            server.stop()
        self.prometheus.stop()


@pytest.fixture
def replicas(tmp_path):
    running = Replicas(tmp_path)
    yield running
    running.close()


def reporters(port: int) -> dict[str, AnswerReporter]:
    """A stable's and a canary's reporters, as each runtime has one, sending to both replicas by request id."""
    url = f"http://127.0.0.1{{shard}}:{port}/v1/answers"
    return {rev: AnswerReporter(AnswerSettings(url=url, shards=len(HOSTS), revision=rev, token=TOKEN, flush_s=0.05))
            for rev in ("s1", "t1")}


def serve(reporter: dict[str, AnswerReporter], first: int, n: int, wrong: np.ndarray) -> None:
    """n requests, each answered by both revisions; the canary answers differently where ``wrong``."""
    for i in range(first, first + n):
        reporter["s1"].record(f"req-{i}", ["class_0"])
        reporter["t1"].record(f"req-{i}", ["class_1" if wrong[i] else "class_0"])


def counted(replicas: Replicas, k: int, since: float, pairs: int) -> tuple[int, int]:
    """(disagreements, pairs) replica k counts, once it counts ``pairs``."""
    wait_until(lambda: replicas.ask(k, since)["canary"]["requests"] >= pairs, 30, f"{pairs} pairs at judge {k}")
    test = replicas.ask(k, since)
    return test["canary"]["events"], test["canary"]["requests"]


def test_two_replicas_and_a_restart_count_every_pair_once(replicas):
    since, wrong = time.time(), np.random.default_rng(7).random(300) < 0.3
    reporter = reporters(replicas.port)
    serve(reporter, 0, 200, wrong)
    expected = (int(wrong[:200].sum()), 200)
    assert counted(replicas, 0, since, 200) == counted(replicas, 1, since, 200) == expected
    assert 60 < replicas.joined(0) < 140 and replicas.joined(0) + replicas.joined(1) == 200  # each joined a share
    replicas.restart(0)
    serve(reporter, 200, 100, wrong)
    expected = (int(wrong.sum()), 300)
    # The running replica counts the restarted one's reset as a reset; the restarted one rebuilds from since.
    assert counted(replicas, 1, since, 300) == counted(replicas, 0, since, 300) == expected
    assert replicas.ask(0, since)["verdict"] == "fail"  # 30% of the copies answered differently
