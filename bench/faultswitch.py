"""How soon a fault-switch change reaches every worker: a real MLServer with parallel workers.

``python -m bench.faultswitch``. Each process looks at the shared state file at most once
per ``FAULT_RECHECK_S`` (0.1 s) instead of once per request, and the admin call answers
only after that long. Each round turns ``error_ratio`` to 1, times the admin call's
answer, then sends ``--requests`` inferences at once from the moment it answered and
counts those answered with the old state (a 200); then clears the fault the same way.
"""

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench import runtime
from loadgen import payloads
from models import dataset, train
from servers import admin, repository

TOKEN = "bench-admin-token"


def change(admin_url: str, body: dict) -> float:
    """POST a fault change; the seconds until it answered."""
    start = time.perf_counter()
    answer = httpx.post(admin_url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    answer.raise_for_status()
    return time.perf_counter() - start


def statuses(url: str, body: str, n: int, pool: ThreadPoolExecutor) -> list[int]:
    """``n`` inferences sent at once; their HTTP statuses."""
    def one(_: int) -> int:
        return httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=10).status_code
    return list(pool.map(one, range(n)))


def main(argv: list[str] | None = None) -> int:
    """Rounds of on/off changes; the admin call's answer time and the requests that saw an old state."""
    p = argparse.ArgumentParser(prog="python -m bench.faultswitch", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--workers", type=int, default=2, help="MLServer parallel_workers (default 2)")
    p.add_argument("--requests", type=int, default=32, help="inferences right after each change (default 32)")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.workers < 1 or args.requests < 1:
        p.error("--rounds, --workers and --requests must be at least 1")
    body = payloads.encode_rows("v2", dataset.load().X[:1].tolist()).decode()
    answered, stale, sent = [], 0, 0
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp, ThreadPoolExecutor(16) as pool:
        train.train("v2", Path(tmp) / "artifacts")
        repo = repository.write(Path(tmp) / "repo", "v2", Path(tmp) / "artifacts", workers=args.workers)
        proc, url = runtime.start(repo, {"FAULT_ADMIN_TOKEN": TOKEN, "FAULT_STATE_FILE": f"{tmp}/faults.json"})
        admin_url = url.rsplit("/v2/", 1)[0] + admin.FAULTS_PATH
        try:
            statuses(url, body, 4 * args.workers, pool)  # every worker serving
            for _ in range(args.rounds):
                for fault, old in (({"error_ratio": 1.0}, 200), ({"clear": True}, 500)):
                    answered.append(change(admin_url, fault))
                    codes = statuses(url, body, args.requests, pool)
                    stale, sent = stale + codes.count(old), sent + len(codes)
        finally:
            proc.stop()
    ms = sorted(a * 1000 for a in answered)
    print(f"\n{args.rounds} rounds, MLServer with {args.workers} workers: the admin call answered in "
          f"{statistics.median(ms):.0f} ms (median; {ms[0]:.0f} to {ms[-1]:.0f}); requests sent once it had "
          f"answered that met the old state: {stale} of {sent}")
    return 0 if stale == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
