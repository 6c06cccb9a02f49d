"""The Seldon runtime against the MLServer runtime: same v2 model, same machine, same run.

``python -m bench.seldon`` (needs .venv-seldon: 'make venv'). Each server is pinned
to CPU 0 with one worker (MLServer parallel_workers 0; the wrapper's gunicorn with
its default single worker); wrk loads it from CPU 1, one row per request in each
protocol; the two alternate for several rounds and the medians are compared.
"""

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from bench import wrk
from bench.loadgen import pinned
from canary.local import procs
from models import dataset, train
from servers import repository

ROOT = Path(__file__).resolve().parent.parent
SELDON = ROOT / ".venv-seldon" / "bin" / "seldon-core-microservice"


def start(name: str, work: Path) -> tuple[procs.Process, str, str]:
    """A real Seldon wrapper serving one version, for the comparison."""
    port = procs.free_port()
    row = dataset.load().X[:1].ravel().tolist()
    if name == "mlserver":
        ports = {"http_port": port, "grpc_port": procs.free_port(), "metrics_port": procs.free_port()}
        repo = repository.write(work / "repo", "v2", work / "artifacts", ports=ports)
        proc = procs.start(pinned("0", [str(Path(sys.executable).with_name("mlserver")), "start", str(repo)]), work / "m.log")
        body = {"inputs": [{"name": "x", "shape": [1, 13], "datatype": "FP64", "data": row}]}
        url, ready = f"http://127.0.0.1:{port}/v2/models/wine/infer", f"http://127.0.0.1:{port}/v2/models/wine/ready"
    else:
        env = {"MODEL_ARTIFACTS": str(work / "artifacts"), "MODEL_VERSION": "v2", "MODEL_ADMIN_PORT": str(procs.free_port())}
        proc = procs.start(pinned("0", [str(SELDON), "servers.seldon_runtime.SeldonModel", "--http-port", str(port),
                                        "--grpc-port", str(procs.free_port()), "--metrics-port", str(procs.free_port())]),
                           work / "s.log", env, cwd=work)
        body = {"data": {"ndarray": [row]}}
        url, ready = f"http://127.0.0.1:{port}/api/v1.0/predictions", f"http://127.0.0.1:{port}/health/status"
    procs.wait_http_ok(proc, ready)
    return proc, url, json.dumps(body)


def main(argv: list[str] | None = None) -> int:
    """Seldon against MLServer on the same model, alternating; print the table."""
    p = argparse.ArgumentParser(prog="python -m bench.seldon", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=16)
    args = p.parse_args(argv)
    if not SELDON.exists():
        raise SystemExit(f"{SELDON} is missing: run 'make venv'")
    results = {"mlserver": [], "seldon": []}
    with tempfile.TemporaryDirectory(prefix="bench-seldon-") as tmp:
        work = Path(tmp)
        train.train("v2", work / "artifacts")
        for round_no in range(args.rounds):
            for name in results:
                proc, url, body = start(name, work)
                try:
                    wrk.run(url, body, seconds=2, connections=args.connections, cpu="1")
                    results[name].append(wrk.run(url, body, seconds=args.seconds, connections=args.connections, cpu="1"))
                finally:
                    proc.stop()
                print(f"round {round_no + 1}/{args.rounds} {name}: {results[name][-1]}", flush=True)
    med = {n: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for n, rs in results.items()}
    print("\n| runtime | req/s (median) | p50 ms | p99 ms | non-2xx | throughput vs MLServer |\n|---|---|---|---|---|---|")
    for name, m in med.items():
        print(f"| {name} | {m['rps']:.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['non_2xx']:.0f} | "
              f"{m['rps'] / med['mlserver']['rps']:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
