"""What the Seldon runtime's speed depends on, and Seldon against MLServer, both tuned: same v2 model, same run.

``python -m bench.seldon`` (needs .venv-seldon: 'make venv'). Every configuration
runs at once, each pinned to CPU 0 (the wrapper's whole process tree), and wrk loads
one at a time from CPU 1 with 16 connections, one row per request, in an order
rotated round by round ("both cores": the server may also use CPU 1, beside wrk).
Figures are ratios within a round against the wrapper's defaults: one gunicorn
worker, one thread (the sync worker, which closes every connection), with our
metrics handed over in batches.
"""

import argparse
import contextlib
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench import paired, runtime, wrk
from bench.loadgen import pinned
from canary.local import procs
from loadgen import payloads
from models import dataset, train
from servers import repository

ROOT = Path(__file__).resolve().parent.parent
SELDON = ROOT / ".venv-seldon" / "bin" / "seldon-core-microservice"
OURS, BARE = "servers.seldon_runtime.SeldonModel", "bench.bare_seldon.BareSeldonModel"


@dataclass(frozen=True)
class Config:
    """One server configuration: which server, model class, environment, MLServer's parallel workers, CPUs."""

    server: str
    model_class: str | None = OURS
    env: dict = field(default_factory=dict)
    cpus: str = "0"
    workers: int = 0


CONFIGS = {
    "seldon defaults (1 worker, 1 thread)": Config("seldon"),
    "seldon 1 worker, 4 threads": Config("seldon", env={"GUNICORN_THREADS": "4"}),
    "seldon 1 worker, 16 threads": Config("seldon", env={"GUNICORN_THREADS": "16"}),
    "seldon 1 worker, 4 threads, no keep-alive": Config("seldon", env={"GUNICORN_THREADS": "4", "GUNICORN_KEEPALIVE": "0"}),
    "seldon 2 workers, 1 thread": Config("seldon", env={"GUNICORN_WORKERS": "2"}),
    "seldon 2 workers, 4 threads": Config("seldon", env={"GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4"}),
    "seldon, metrics with every call": Config("seldon", "bench.seldon_variants.PerCallMetricsModel"),
    "seldon, no duration histogram": Config("seldon", "bench.seldon_variants.NoDurationModel"),
    "seldon, bare model class": Config("seldon", BARE),
    "seldon 1 worker, both cores": Config("seldon", cpus="0,1"),
    "seldon 2 workers, both cores": Config("seldon", env={"GUNICORN_WORKERS": "2"}, cpus="0,1"),
    "mlserver (parallel_workers 0)": Config("mlserver", None),
    "mlserver (parallel_workers 2)": Config("mlserver", None, workers=2),
    "mlserver (parallel_workers 0), both cores": Config("mlserver", None, cpus="0,1"),
    "mlserver (parallel_workers 2), both cores": Config("mlserver", None, cpus="0,1", workers=2),
}
BASELINE = "seldon defaults (1 worker, 1 thread)"
FIGURES = {
    "Seldon vs MLServer, both tuned, one core": (BASELINE, "mlserver (parallel_workers 0)"),
    "Seldon vs MLServer, both tuned, both cores": ("seldon 2 workers, both cores", "mlserver (parallel_workers 0), both cores"),
    "2 workers vs 1, both cores": ("seldon 2 workers, both cores", "seldon 1 worker, both cores"),
    "our model class vs a bare one, in the wrapper": (BASELINE, "seldon, bare model class"),
    "metrics in batches vs with every call": (BASELINE, "seldon, metrics with every call"),
    "with the duration histogram vs without": (BASELINE, "seldon, no duration histogram"),
}


def start(name: str, work: Path) -> tuple[procs.Process, str, str]:
    """One configuration's server, pinned to its CPUs; its process, URL and body once ready."""
    config = CONFIGS[name]
    folder = work / str(list(CONFIGS).index(name))
    folder.mkdir()
    rows = dataset.load().X[:1].tolist()
    if config.server == "mlserver":
        repo = repository.write(folder / "repo", "v2", work / "artifacts", workers=config.workers)
        proc, url = runtime.start(repo, config.env, config.cpus)
        return proc, url, payloads.encode_rows("v2", rows).decode()
    port = procs.free_port()
    env = {"MODEL_ARTIFACTS": str(work / "artifacts"), "MODEL_VERSION": "v2", "MODEL_ADMIN_PORT": str(procs.free_port()),
           "PYTHONPATH": str(ROOT), **config.env}
    cmd = [str(SELDON), config.model_class, "--http-port", str(port), "--grpc-port", str(procs.free_port()),
           "--metrics-port", str(procs.free_port())]
    proc = procs.start(pinned(config.cpus, cmd), folder / "log", env, cwd=folder)
    procs.wait_http_ok(proc, f"http://127.0.0.1:{port}/health/ping")
    return proc, f"http://127.0.0.1:{port}/api/v1.0/predictions", payloads.encode_rows("seldon", rows).decode()


def report(runs: dict[str, list[dict]]) -> None:
    """The table: throughput, latency, errors, and the paired ratio to the defaults."""
    print("\n| configuration | req/s median (range) | p50 ms | p99 ms | non-2xx + socket errors | vs defaults, paired |")
    print("|---|---|---|---|---|---|")
    for name, rs in runs.items():
        p50, p99 = (statistics.median(r[k] for r in rs) for k in ("p50_ms", "p99_ms"))
        errors = sum(r["non_2xx"] + r["socket_errors"] for r in rs)
        speed = paired.spread(paired.ratios(runs, name, BASELINE, "rps"), "{:.2f}x")
        print(f"| {name} | {paired.spread([r['rps'] for r in rs], '{:.0f}')} | {p50:.2f} | {p99:.2f} | {errors} | {speed} |")
    print(f"\n{paired.HEADER}")
    for figure, (num, den) in FIGURES.items():
        print(paired.row(figure, paired.ratios(runs, num, den, "rps"), "{:.2f}x"))


def main(argv: list[str] | None = None) -> int:
    """Every configuration in every round; print the table."""
    p = argparse.ArgumentParser(prog="python -m bench.seldon", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5, help="rounds; each loads every configuration once (default 5)")
    p.add_argument("--seconds", type=int, default=5, help="seconds of load per configuration and round (default 5)")
    p.add_argument("--connections", type=int, default=16)
    args = p.parse_args(argv)
    if not SELDON.exists():
        raise SystemExit(f"{SELDON} is missing: run 'make venv'")
    wrk.require()
    with tempfile.TemporaryDirectory(prefix="bench-seldon-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        train.train("v2", work / "artifacts")
        targets = {}
        for name in CONFIGS:
            proc, url, body = start(name, work)
            stack.callback(proc.stop)
            targets[name] = (url, body)
            wrk.run(url, body, seconds=2, connections=args.connections, cpu="1")  # warm-up
        runs = paired.run_rounds(list(CONFIGS), args.rounds, lambda n: wrk.run(
            *targets[n], seconds=args.seconds, connections=args.connections, cpu="1"))
    report(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
