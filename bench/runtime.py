"""Our MLServer runtime against MLServer's stock ``mlserver_sklearn.SKLearnModel``, same model.

``python -m bench.runtime`` (or ``make bench``). Each variant serves the v2 model
with ``parallel_workers: 0`` pinned to CPU 0 while wrk loads it from CPU 1; the
variants alternate for several rounds and the medians are compared as ratios.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import joblib

from bench import wrk
from canary.local import procs
from models import artifacts, dataset, train
from servers import repository

VARIANTS = {
    "stock": "mlserver_sklearn.SKLearnModel",
    "ours": repository.IMPLEMENTATION,
    "ours-bare": "bench.bare_runtime.BareModel",
}
ROOT = Path(__file__).resolve().parent.parent


def prepare(work: Path) -> dict[str, Path]:
    """Train v2 and write one MLServer repository per variant."""
    train.train("v2", work / "artifacts")
    estimator, _ = artifacts.load(work / "artifacts" / "v2")
    joblib.dump(estimator, work / "artifacts" / "v2" / "model.joblib")
    repos = {}
    for name, implementation in VARIANTS.items():
        repo = repository.write(work / name, "v2", work / "artifacts")
        settings_path = repo / repository.MODEL_NAME / "model-settings.json"
        settings = json.loads(settings_path.read_text())
        settings["implementation"] = implementation
        if name == "stock":
            settings["parameters"]["uri"] = str(work / "artifacts" / "v2" / "model.joblib")
        settings_path.write_text(json.dumps(settings))
        repos[name] = repo
    return repos


def measure(repo: Path, body: str, seconds: int, connections: int) -> dict:
    """One wrk run against one runtime; requests per second and latency."""
    port = procs.free_port()
    settings = json.loads((repo / "settings.json").read_text())
    settings.update(http_port=port, grpc_port=procs.free_port(), metrics_port=procs.free_port())
    (repo / "settings.json").write_text(json.dumps(settings))
    mlserver = str(Path(sys.executable).with_name("mlserver"))
    cmd = ["taskset", "-c", "0", mlserver, "start", str(repo)] if shutil.which("taskset") else [mlserver, "start", str(repo)]
    proc = procs.start(cmd, repo / "log", env={"PYTHONPATH": str(ROOT)}, cwd=repo)
    try:
        url = f"http://127.0.0.1:{port}/v2/models/wine/infer"
        procs.wait_http_ok(proc, f"http://127.0.0.1:{port}/v2/models/wine/ready")
        wrk.run(url, body, seconds=2, connections=connections, cpu="1")  # warm-up
        return wrk.run(url, body, seconds=seconds, connections=connections, cpu="1")
    finally:
        proc.stop()


def main(argv: list[str] | None = None) -> int:
    """Alternate the runtimes over rounds; print medians and ratios."""
    parser = argparse.ArgumentParser(prog="python -m bench.runtime", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    wrk.require()
    row = dataset.load().X[:1]
    body = json.dumps({"inputs": [{"name": "features", "shape": [1, 13], "datatype": "FP64", "data": row.ravel().tolist()}]})
    results: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as tmp:
        repos = prepare(Path(tmp))
        for round_no in range(args.rounds):
            for name, repo in repos.items():
                result = measure(repo, body, args.seconds, args.connections)
                results[name].append(result)
                print(f"round {round_no + 1}/{args.rounds} {name:10s} {result}", flush=True)
                time.sleep(1)
    med = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in results.items()}
    print("\n| runtime | req/s (median) | p50 ms | p99 ms | non-2xx | vs stock |")
    print("|---|---|---|---|---|---|")
    for name, m in med.items():
        print(f"| {name} | {m['rps']:.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['non_2xx']:.0f} | {m['rps'] / med['stock']['rps']:.2f}x |")
    overhead = 1 - med["ours"]["rps"] / med["ours-bare"]["rps"]
    print(f"\nmetrics + fault switch (off) cost: {overhead * 100:.1f}% of throughput")
    if args.json:
        args.json.write_text(json.dumps({"runs": results, "median": med}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
