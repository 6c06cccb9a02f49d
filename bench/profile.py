"""Where our MLServer runtime spends a request, under load: py-spy samples of a real server.

``python -m bench.profile``: one variant of ``bench.runtime`` pinned to CPU 0, wrk
from CPU 1, and py-spy (non-blocking, so the server is not paused) sampling it.
Prints the share of samples inside each part of our per-request code, read from
py-spy's speedscope JSON.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import runtime, wrk
from bench.loadgen import pinned
from loadgen import payloads
from models import dataset

# part: frame names (py-spy's "function" name) whose samples belong to it
PARTS = {
    "fault switch (begin, delay_s: a stat each 0.1 s, dice when on)": ("Predictor.begin", "Predictor.delay_s"),
    "metrics (servers/metrics.py: tallies, flushed at scrapes)": ("ModelMetrics.observe", "ModelMetrics.count_predictions",
                                                                   "ModelMetrics.flush"),
    "input validation": ("rows_from_tensor",),
    "the prediction": ("compile_predict.<locals>.<lambda>", "_general_predict.<locals>.<lambda>"),
    "our runtime's predict, all of it": ("CanaryModel.predict",),
}


def shares(speedscope: dict) -> dict[str, float]:
    """Share of all samples whose stack holds a frame of each part."""
    frames = [f["name"] for f in speedscope["shared"]["frames"]]
    total, hits = 0.0, dict.fromkeys(PARTS, 0.0)
    for profile in speedscope["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            names = {frames[i] for i in stack}
            total += weight
            for part, wanted in PARTS.items():
                if names.intersection(wanted):
                    hits[part] += weight
    return {part: n / total for part, n in hits.items()} if total else hits


def main(argv: list[str] | None = None) -> int:
    """Load one runtime variant, sample it with py-spy, print the shares."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="ours-predict", choices=[n for n in runtime.VARIANTS if n.startswith("ours")])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second (default 100)")
    args = parser.parse_args(argv)
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        raise SystemExit(f"{spy} is missing: pip install -e '.[bench]'")
    body = payloads.encode_rows("v2", dataset.load().X[:1].tolist()).decode()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        repo = runtime.prepare(Path(tmp), [args.variant])[args.variant]
        proc, url = runtime.start(repo, runtime.VARIANTS[args.variant][1])
        try:
            wrk.run(url, body, seconds=2, connections=16, cpu="1")
            out = Path(tmp) / "profile.json"
            sampler = subprocess.Popen([*pinned("1", [str(spy)]), "record", "--nonblocking", "-p", str(proc.pid),
                                        "-d", str(args.seconds), "-r", str(args.rate), "-f", "speedscope", "-o", str(out)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            load = wrk.run(url, body, seconds=args.seconds, connections=16, cpu="1")
            if sampler.wait() != 0:
                raise SystemExit(f"py-spy failed: {sampler.stderr.read().strip()}")
            found = shares(json.loads(out.read_text()))
        finally:
            proc.stop()
    print(f"{args.variant}: {load['rps']:.0f} req/s under py-spy\n\n| part of the request | share of samples |\n|---|---|")
    for part, share in found.items():
        print(f"| {part} | {share:.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
