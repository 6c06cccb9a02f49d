"""How long one GET /v1/judge takes against a real Prometheus holding an hour of per-second counters.

``python -m bench.judge_api``. promtool backfills one hour of Envoy-style counters at
1 s resolution for PAIRS canary/stable revision pairs (both status classes and the
latency buckets each); a real Prometheus serves them and a real judge process
(``python -m canary.judge``) is asked about every pair, each analysis starting an
hour back (``since``), in turn. Reported: the first call of each analysis (it also
reads the counters as they were an hour ago) and the calls after it.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from canary.local import procs, prometheus_config
from canary.local.envoy import LATENCY_BUCKETS_MS

HOUR_S = 3600


def openmetrics(path: Path, revisions: list[str], end: int) -> None:
    """An hour of counters per revision: 20 rps, 1% 5xx, latency spread over the buckets."""
    with path.open("w") as out:
        for name in ("envoy_cluster_upstream_rq_xx", "envoy_cluster_upstream_rq_time_bucket"):
            out.write(f"# TYPE {name} gauge\n")
            for rev in revisions:
                for t in range(end - HOUR_S, end + 1):
                    n = 20 * (t - end + HOUR_S)
                    if name.endswith("_xx"):
                        out.write(f'{name}{{revision="{rev}",envoy_response_code_class="2"}} {n - n // 100} {t}\n')
                        out.write(f'{name}{{revision="{rev}",envoy_response_code_class="5"}} {n // 100} {t}\n')
                        continue
                    for i, le in enumerate([*LATENCY_BUCKETS_MS, "+Inf"]):
                        share = 1.0 if le == "+Inf" else min(1.0, (i + 1) / 10)
                        out.write(f'{name}{{revision="{rev}",le="{le}"}} {int(n * share)} {t}\n')
        out.write("# EOF\n")


def start_prometheus(folder: Path, revisions: list[str]) -> tuple[procs.Process, str]:
    """Backfill the hour into a TSDB, then serve it."""
    end = int(time.time())
    openmetrics(folder / "data.om", revisions, end)
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(folder / "data.om"), str(folder / "tsdb")],
                   check=True, capture_output=True)
    (folder / "prometheus.yml").write_text("global: {scrape_interval: 15s}\n")
    port = procs.free_port()
    process = procs.start(prometheus_config.command("prometheus", folder / "prometheus.yml", folder / "tsdb", port),
                          folder / "prometheus.log", {})
    procs.wait_http_ok(process, f"http://127.0.0.1:{port}/-/ready", 120)
    return process, f"http://127.0.0.1:{port}"


def percentile(values: list[float], q: float) -> float:
    """The q-quantile, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    """Backfill, start Prometheus and the judge, time the calls."""
    p = argparse.ArgumentParser(prog="python -m bench.judge_api", description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=5, help="canary/stable pairs: 2 per pair are the 10 revisions")
    p.add_argument("--calls", type=int, default=200, help="calls per analysis after its first")
    args = p.parse_args(argv)
    revisions = [f"{i:010x}" for i in range(2 * args.pairs)]
    with tempfile.TemporaryDirectory(prefix="bench-judge-") as tmp:
        prometheus, url = start_prometheus(Path(tmp), revisions)
        port = procs.free_port()
        judge = procs.start([sys.executable, "-m", "canary.judge", "--prometheus-url", url, "--port", str(port)],
                            Path(tmp) / "judge.log", {})
        try:
            procs.wait_http_ok(judge, f"http://127.0.0.1:{port}/healthz", 60)
            first, steady = time_calls(f"http://127.0.0.1:{port}/v1/judge", revisions, args.calls)
        finally:
            judge.stop()
            prometheus.stop()
    print(f"| calls ({args.pairs} analyses, an hour of 1 s samples each) | n | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    for name, values in (("first call of an analysis", first), ("every call after it", steady)):
        print(f"| {name} | {len(values)} | {statistics.median(values):.1f} | {percentile(values, 0.99):.1f} | "
              f"{max(values):.1f} |")
    return 0


def time_calls(url: str, revisions: list[str], calls: int) -> tuple[list[float], list[float]]:
    """Milliseconds of each first call and of each later call, the analyses asked in turn."""
    since = time.time() - HOUR_S
    pairs = [(revisions[i], revisions[i + 1]) for i in range(0, len(revisions), 2)]
    first, steady = [], []
    with httpx.Client(timeout=10) as client:
        for n in range(calls + 1):
            for canary, stable in pairs:
                t0 = time.perf_counter()
                answer = client.get(url, params={"canary": canary, "stable": stable, "weight": 10, "since": since})
                (first if n == 0 else steady).append((time.perf_counter() - t0) * 1000)
                answer.raise_for_status()
                if n == 0:  # the hour is judged: the analysis starts an hour back
                    assert answer.json()["tests"][0]["canary"]["requests"] >= 20 * (HOUR_S - 60), answer.text
    return first, steady


if __name__ == "__main__":
    sys.exit(main())
