"""Microseconds per call, in one process: scikit-learn's predict, the fast path, and our runtime against the bare one.

``python -m bench.percall``. Each round times every variant over ``--calls`` calls,
in an order rotated round by round; the figures are medians over rounds, and the
cost of the metrics and the fault switch is ours minus bare within each round.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mlserver.settings import ModelParameters, ModelSettings
from mlserver.types import InferenceRequest

from bench import paired
from bench.bare_runtime import BareModel
from loadgen import payloads
from models import artifacts, dataset, fastpath, train
from servers.mlserver_runtime import CanaryModel


async def _runtime(cls, name: str, folder: Path):
    model = cls(ModelSettings(name=name, implementation=cls, parameters=ModelParameters(uri=str(folder), version="v2")))
    await model.load()
    return model


async def variants(folder: Path) -> dict:
    """name: a coroutine function making one call (plain calls are wrapped)."""
    estimator, _ = artifacts.load(folder)
    fast = fastpath.compile_predict(estimator)
    row = dataset.load().X[:1]
    payload = InferenceRequest.model_validate_json(payloads.encode_rows("v2", row.tolist()))
    ours, bare = await _runtime(CanaryModel, "wine", folder), await _runtime(BareModel, "bare", folder)

    async def call(f):
        return f()

    return {
        "estimator.predict": lambda: call(lambda: estimator.predict(row)),
        "fast path": lambda: call(lambda: fast(row)),
        "ours.predict": lambda: ours.predict(payload),
        "bare.predict": lambda: bare.predict(payload),
    }


async def timed(fn, calls: int) -> dict:
    """µs per call over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        await fn()
    return {"us": (time.perf_counter() - start) / calls * 1e6}


async def measure(rounds: int, calls: int) -> dict[str, list[dict]]:
    """Every variant in every round; returns the runs."""
    with tempfile.TemporaryDirectory(prefix="bench-percall-") as tmp:
        train.train("v2", Path(tmp))
        fns = await variants(Path(tmp) / "v2")
        for fn in fns.values():
            await timed(fn, calls // 10)  # warm-up
        runs: dict[str, list[dict]] = {name: [] for name in fns}
        for round_no in range(rounds):
            for name in paired.rotated(list(fns), round_no):
                runs[name].append(await timed(fns[name], calls))
        return runs


def main(argv: list[str] | None = None) -> int:
    """Print µs per call for each variant and the per-round cost of metrics + fault switch."""
    parser = argparse.ArgumentParser(prog="python -m bench.percall", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="rounds (default 30)")
    parser.add_argument("--calls", type=int, default=2000, help="calls per variant and round (default 2000)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.calls < 10:
        parser.error("--rounds must be at least 1 and --calls at least 10")
    runs = asyncio.run(measure(args.rounds, args.calls))
    print("\n| call (one row) | µs median (range) |\n|---|---|")
    for name, rs in runs.items():
        print(f"| {name} | {paired.spread([r['us'] for r in rs], '{:.1f}')} |")
    cost = [a["us"] - b["us"] for a, b in zip(runs["ours.predict"], runs["bare.predict"], strict=True)]
    gain = paired.ratios(runs, "estimator.predict", "fast path", "us")
    print(f"\n{paired.HEADER}\n{paired.row('metrics + fault switch, µs (ours - bare)', cost, '{:.1f}')}")
    print(paired.row("fast path vs estimator.predict", gain, "{:.0f}x", "in-process, one row"))
    print(f"\nmedian cost: {statistics.median(cost):.1f} µs a call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
