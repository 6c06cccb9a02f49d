"""The judge under a platform's load: many analyses at once, each asked four times a second (four times Argo's rate).

``python -m bench.judge_api``. An exporter serves Envoy-style counters for PAIRS canary/stable
revision pairs (20 rps each, 1% 5xx, both status classes and the 28 latency buckets), a real
Prometheus scrapes it every second, and a real judge process (``python -m canary.judge``) is
asked about every pair every 250 ms at once, four times as often as Argo asks with the shipped
template (every second), for ``--seconds``. Each stable has served for ``--warm-up`` seconds; each canary is born at its
analysis's first question (a new rollout), or with its stable (``--rebuild``: a judge restarted
under fifty running analyses rebuilds each from Prometheus at once); ``--busy`` adds a CPU hog
per core. Reported: the time of each answer (p50, p99, max) and the judge's CPU per answer (its
process's user and system time over the run, by psutil, divided by the answers).
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
import yaml
from fastapi import Response

from bench.rollout import cpu_hogs
from canary.local import procs, prometheus_config
from canary.local.envoy import LATENCY_BUCKETS_MS
from canary.webapi import ServerThread, create_app

RPS = 20


def exporter(born: dict[str, float]) -> tuple[ServerThread, int]:
    """Counters that grow at RPS per revision from its time in ``born`` (absent before), as Envoy's would."""
    app = create_app("bench exporter")

    @app.get("/metrics")
    def metrics() -> Response:
        lines, now = [], time.time()
        for rev, started in list(born.items()):
            if now < started:
                continue
            n = int(RPS * (now - started))
            lines += [f'envoy_cluster_upstream_rq_xx{{revision="{rev}",envoy_response_code_class="2"}} {n - n // 100}',
                      f'envoy_cluster_upstream_rq_xx{{revision="{rev}",envoy_response_code_class="5"}} {n // 100}']
            lines += [f'envoy_cluster_upstream_rq_time_bucket{{revision="{rev}",le="{le}"}} '
                      f'{n if le == "+Inf" else int(n * min(1.0, (i + 1) / 10))}'
                      for i, le in enumerate([*LATENCY_BUCKETS_MS, "+Inf"])]
        return Response("\n".join(lines) + "\n", media_type="text/plain")

    port = procs.free_port()
    return ServerThread(app, port, "exporter").start(), port


def start_prometheus(folder: Path, port: int) -> tuple[procs.Process, str]:
    """A real Prometheus scraping the exporter every second."""
    config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
              "scrape_configs": [{"job_name": "envoy", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]}
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    own = procs.free_port()
    process = procs.start(prometheus_config.command("prometheus", folder / "prometheus.yml", folder / "data", own),
                          folder / "prometheus.log", {})
    procs.wait_http_ok(process, f"http://127.0.0.1:{own}/-/ready", 120)
    return process, f"http://127.0.0.1:{own}"


def served_within(metrics_url: str) -> list[tuple[float, float]]:
    """The share of answers the judge itself served within each of its histogram's bounds."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(metrics_url, timeout=10).text
    buckets = {float(s.labels["le"]): s.value for f in text_string_to_metric_families(text)
               for s in f.samples if s.name == "mlcanary_judge_request_duration_seconds_bucket"}
    total = buckets.get(float("inf"), 0) or 1
    return [(le, n / total) for le, n in sorted(buckets.items()) if le in (0.01, 0.025, 0.05, 0.1, 0.25)]


def percentile(values: list[float], q: float) -> float:
    """The q-quantile, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ask_every(url: str, canary: str, stable: str, until: float, times: list[tuple[float, float]],
              errors: list[str], offset_s: float = 0.0) -> None:
    """One analysis, asked every 250 ms from ``offset_s`` until ``until``: (seconds into the run, milliseconds)
    of each answer into ``times``."""
    with httpx.Client(timeout=10) as client:
        started = time.monotonic()
        tick = started + offset_s
        time.sleep(offset_s)
        while tick < until:
            t0 = time.perf_counter()
            answer = client.get(url, params={"canary": canary, "stable": stable, "weight": 10})
            times.append((time.monotonic() - started, (time.perf_counter() - t0) * 1000))
            if answer.status_code != 200:
                errors.append(answer.text)
            tick += 0.25
            time.sleep(max(0.0, tick - time.monotonic()))


def load(url: str, pid: int, pairs: list[tuple[str, str]], seconds: float,
         born: dict[str, float] | None = None) -> tuple[list[tuple], list[str], float]:
    """Every pair asked at once for ``seconds``: answer times, error bodies, the judge's CPU seconds. Each
    canary not in ``born`` yet is born at its first question."""
    judge, times, errors = psutil.Process(pid), [], []
    cpu = sum(judge.cpu_times()[:2])
    until = time.monotonic() + seconds
    # Rollouts start when their owners push, not all in one millisecond: the first questions (and so
    # the cells, which start with them) spread over a second.
    offsets, now = [i / len(pairs) for i in range(len(pairs))], time.time()
    if born is not None:
        born.update({c: now + offset for (c, _), offset in zip(pairs, offsets) if c not in born})
    threads = [threading.Thread(target=ask_every, args=(url, c, s, until, times, errors, offset))
               for (c, s), offset in zip(pairs, offsets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors, sum(judge.cpu_times()[:2]) - cpu


def row(pairs: int, times: list[tuple[float, float]], cpu_s: float, errors: int) -> str:
    """The Markdown row: every answer, and the steady state (past the analyses' first reads, 10 s in)."""
    every = [ms for _, ms in times]
    steady = [ms for at, ms in times if at > 10] or [0.0]
    return (f"| {pairs} | {len(every)} | {statistics.median(every):.1f} | {percentile(every, 0.99):.1f} | "
            f"{max(every):.1f} | {percentile(steady, 0.99):.1f} | {1000 * cpu_s / len(every):.2f} | {errors} |")


def measure(args, pairs: list[tuple[str, str]], born: dict[str, float]) -> tuple[list[tuple], list[str], float, list]:
    """Exporter, Prometheus and the judge; then every analysis at once (the machine busy with ``--busy``)."""
    with tempfile.TemporaryDirectory(prefix="bench-judge-") as tmp:
        server, port = exporter(born)
        prometheus, url = start_prometheus(Path(tmp), port)
        judge_port = procs.free_port()
        judge = procs.start([sys.executable, "-m", "canary.judge", "--prometheus-url", url, "--port", str(judge_port)],
                            Path(tmp) / "judge.log", {})
        hogs = []
        try:
            procs.wait_http_ok(judge, f"http://127.0.0.1:{judge_port}/healthz", 60)
            time.sleep(args.warm_up)  # counters before the analyses: the history a running stable has
            hogs = cpu_hogs(args.seconds + 5) if args.busy else []
            times, errors, cpu_s = load(f"http://127.0.0.1:{judge_port}/v1/judge", judge.pid, pairs, args.seconds,
                                        born)
            return times, errors, cpu_s, served_within(f"http://127.0.0.1:{judge_port}/metrics")
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
            judge.stop()
            prometheus.stop()
            server.stop()


def main(argv: list[str] | None = None) -> int:
    """The analyses asked at once; a Markdown row and the judge's own histogram."""
    p = argparse.ArgumentParser(prog="python -m bench.judge_api", description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=50, help="analyses at once (default %(default)s)")
    p.add_argument("--seconds", type=float, default=60, help="how long each is asked (default %(default)s)")
    p.add_argument("--warm-up", type=float, default=60,
                   help="seconds of counters before the first question: stable's history (default %(default)s)")
    p.add_argument("--busy", action="store_true", help="keep every core busy meanwhile (a CPU hog per core)")
    p.add_argument("--rebuild", action="store_true",
                   help="canaries born with their stables: every analysis rebuilt from Prometheus at once, as "
                        "after a judge restart (default: each canary born at its first question)")
    args = p.parse_args(argv)
    revisions = [f"{i:010x}" for i in range(2 * args.pairs)]
    pairs = [(revisions[i], revisions[i + 1]) for i in range(0, len(revisions), 2)]
    started = time.time()
    born = {rev: started for pair in pairs for rev in (pair if args.rebuild else pair[1:])}
    times, errors, cpu_s, inside = measure(args, pairs, born)
    print("| analyses at once, each every 250 ms | answers | p50 ms | p99 ms | max ms | p99 ms after 10 s | "
          "judge CPU ms per answer | errors |\n|---|---|---|---|---|---|---|---|")
    print(row(args.pairs, times, cpu_s, len(errors)))
    print("\nthe judge's own time per answer (its histogram): " + ", ".join(
        f"{share:.1%} within {le:g} s" for le, share in inside))
    if errors:
        print(f"first error: {errors[0][:200]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
