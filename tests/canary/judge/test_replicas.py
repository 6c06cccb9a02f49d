"""Two real Prometheus replicas behind one name (as a headless Service gives them): the judge's reader
queries one until it stops answering, then the other, and says so (its epoch)."""

import httpx
import pytest
import yaml

from canary.judge.source import JudgeError, PrometheusReader
from canary.local import procs, prometheus_config
from tests.k8s.support import require_binary
from tests.waiting import wait_until

REPLICAS = ("127.0.0.2", "127.0.0.3")  # loopback too: the name resolves to both, as to two pods


@pytest.fixture
def pair(tmp_path):
    """Replica a and replica b on one port of two addresses, each scraping itself under its own job name."""
    port, binary, running = procs.free_port(), require_binary("prometheus", "Debian package prometheus"), []
    try:
        for name, address in zip("ab", REPLICAS):
            folder = tmp_path / name
            folder.mkdir()
            config = {"global": {"scrape_interval": "1s"},
                      "scrape_configs": [{"job_name": name, "static_configs": [{"targets": [f"{address}:{port}"]}]}]}
            (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
            cmd = prometheus_config.command(binary, folder / "prometheus.yml", folder / "data", port)
            cmd = [c.replace("127.0.0.1:", f"{address}:") for c in cmd]
            running.append(procs.start(cmd, folder / "prometheus.log", {}))
            procs.wait_http_ok(running[-1], f"http://{address}:{port}/-/ready", 60)
            up = lambda url=f"http://{address}:{port}/api/v1/query": httpx.get(url, params={"query": "up"}).json()  # noqa: E731
            wait_until(lambda: up()["data"]["result"], 30, f"replica {name} to scrape itself")
        yield port, running
    finally:
        for process in running:
            process.stop()


def answering(reader: PrometheusReader) -> str:
    """Which replica answered: the job of the one series it scrapes."""
    return {labels["job"] for labels, _ in reader.instant("up")}.pop()


@pytest.mark.integration
def test_every_query_goes_to_one_replica_until_it_stops_answering(pair):
    port, (a, _) = pair
    reader = PrometheusReader(f"http://prometheus-operated.test:{port}", 2.0, resolve=lambda host, p: list(REPLICAS))
    assert [answering(reader) for _ in range(10)] == ["a"] * 10 and reader.epoch == 0
    a.stop()
    assert answering(reader) == "b" and reader.epoch == 1  # the next query moved, and said so once
    assert [answering(reader) for _ in range(5)] == ["b"] * 5 and reader.epoch == 1


def test_a_name_that_does_not_resolve_is_a_502():
    def nowhere(host, port):
        raise OSError("Name or service not known")

    with pytest.raises(JudgeError) as failed:
        PrometheusReader("http://prometheus-operated.test:9090", 1.0, resolve=nowhere).instant("up")
    assert failed.value.status == 502 and "does not resolve" in str(failed.value)
