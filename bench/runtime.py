"""Our MLServer runtime against MLServer's stock ``mlserver_sklearn.SKLearnModel`` and a bare runtime, same model.

``python -m bench.runtime`` (or ``make bench``). Each variant serves the v2 model
with ``parallel_workers: 0``; all five run at once, pinned to CPU 0, loaded by wrk
from CPU 1. "Alone" rounds load one variant at a time (the others idle), in one-second
turns: throughput and latency. "Together" rounds load every variant in the same seconds,
so a noisy machine slows all alike: server CPU per request. Every round starts fresh
servers, in an order (start, turns, loads) rotated round by round; ``bare-again`` is the
baseline twice, the figures' noise floor. Figures are ratios within a round (paired),
summarised by their median over rounds, and by a fit that removes each round's and each
place's effect (``paired.place_adjusted``), with its 95% interval.
"""

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import psutil

from bench import paired, traced, wrk
from bench.loadgen import pinned
from canary.local import procs
from loadgen import payloads
from models import artifacts, dataset, train
from servers import repository

ROOT = Path(__file__).resolve().parent.parent
# name: (implementation, environment)
VARIANTS = {
    "stock": ("mlserver_sklearn.SKLearnModel", {}),
    "ours-predict": (repository.IMPLEMENTATION, {"MODEL_FAST_PATH": "false"}),
    "ours-fast": (repository.IMPLEMENTATION, {"MODEL_FAST_PATH": "true"}),
    "bare-predict": ("bench.bare_runtime.BareModel", {"MODEL_FAST_PATH": "false"}),
    # The same baseline again, in a server of its own: what a cost of nothing measures as (the noise floor).
    "bare-again": ("bench.bare_runtime.BareModel", {"MODEL_FAST_PATH": "false"}),
    # ours-predict with MLServer's tracing on, every request's spans sent to a real Jaeger (bench.traced)
    "ours-traced": (repository.IMPLEMENTATION, {"MODEL_FAST_PATH": "false"}),
}
# figure: (numerator, denominator, what it says)
RATIOS = {
    "cost of metrics + fault switch": ("ours-predict", "bare-predict", "1 - speed of ours/bare, goal under 1%"),
    "cost of nothing (A/A: bare again vs bare)": ("bare-again", "bare-predict", "the noise floor of the row above"),
    "cost of tracing, every request": ("ours-traced", "ours-predict", "MLServer's spans to Jaeger"),
    "gain of the fast path": ("ours-fast", "ours-predict", "linear models only"),
    "ours vs stock, no fast path": ("ours-predict", "stock", "any scikit-learn model"),
    "ours vs stock, fast path": ("ours-fast", "stock", "linear models"),
}


def prepare(work: Path, names: list[str]) -> dict[str, Path]:
    """Train v2 and write one MLServer repository per variant named."""
    train.train("v2", work / "artifacts")
    estimator, _ = artifacts.load(work / "artifacts" / "v2")
    joblib.dump(estimator, work / "artifacts" / "v2" / "model.joblib")
    repos = {}
    for name in names:
        implementation = VARIANTS[name][0]
        repo = repository.write(work / name, "v2", work / "artifacts")
        settings_path = repo / repository.MODEL_NAME / "model-settings.json"
        settings = json.loads(settings_path.read_text())
        settings["implementation"] = implementation
        if name == "stock":
            settings["parameters"]["uri"] = str(work / "artifacts" / "v2" / "model.joblib")
        settings_path.write_text(json.dumps(settings))
        repos[name] = repo
    return repos


def start(repo: Path, env: dict, cpus: str = "0") -> tuple[procs.Process, str]:
    """``mlserver start`` on fresh ports, pinned to ``cpus``; the process and its inference URL once ready."""
    port = procs.free_port()
    settings = json.loads((repo / "settings.json").read_text())
    settings.update(http_port=port, grpc_port=procs.free_port(), metrics_port=procs.free_port())
    (repo / "settings.json").write_text(json.dumps(settings))
    cmd = pinned(cpus, [str(Path(sys.executable).with_name("mlserver")), "start", str(repo)])
    proc = procs.start(cmd, repo / "log", env={"PYTHONPATH": str(ROOT), **env}, cwd=repo)
    procs.wait_http_ok(proc, f"http://127.0.0.1:{port}/v2/models/wine/ready")
    return proc, f"http://127.0.0.1:{port}/v2/models/wine/infer"


def loaded(server: psutil.Process, url: str, body: str, args: argparse.Namespace, seconds: int | None = None) -> dict:
    """One wrk run (``args.seconds`` unless given), plus the server's CPU time, whole and per answered request."""
    before = sum(server.cpu_times()[:2])
    result = wrk.run(url, body, seconds=seconds or args.seconds, connections=args.connections, cpu="1")
    result["cpu_s"] = sum(server.cpu_times()[:2]) - before
    result["cpu_us"] = result["cpu_s"] / max(result["requests"], 1) * 1e6
    return result


def alone_in_turns(order: list[str], servers: dict, urls: dict, body: str, args: argparse.Namespace) -> dict[str, dict]:
    """Each variant alone, in one-second turns in the round's order, until each has had ``args.seconds``.

    Five seconds each in one piece let the machine's moods fall on one variant: the A/A pair alone
    spread over 37 points in 9 rounds. Turns of a second put every variant in every few seconds.
    The price: each turn reconnects, and its last requests in flight are cut off (CPU counted, the
    requests not): the same count for every variant, so it cancels between servers of about the same
    speed (the cost figures) and reads a faster server's gain slightly high (docs/benchmarks.md).
    """
    turns: dict[str, list[dict]] = {name: [] for name in order}
    for _ in range(args.seconds):
        for name in order:
            turns[name].append(loaded(servers[name], urls[name], body, args, seconds=1))
    return {name: merged(runs) for name, runs in turns.items()}


def merged(runs: list[dict]) -> dict:
    """Turns as one run: throughput and CPU per request over all of them; percentiles, the turns' median."""
    requests, cpu_s = sum(r["requests"] for r in runs), sum(r["cpu_s"] for r in runs)
    out = {key: statistics.median(r[key] for r in runs) for key in ("p50_ms", "p90_ms", "p99_ms")}
    out.update(requests=requests, rps=requests / sum(r["seconds"] for r in runs),
               cpu_s=cpu_s, cpu_us=cpu_s / max(requests, 1) * 1e6,
               non_2xx=sum(r["non_2xx"] for r in runs), socket_errors=sum(r["socket_errors"] for r in runs))
    return out


def together(servers: dict, urls: dict, body: str, args: argparse.Namespace) -> dict[str, dict]:
    """One round that loads every variant at once: each server's CPU per request in the same seconds."""
    with ThreadPoolExecutor(len(servers)) as pool:
        futures = {n: pool.submit(loaded, servers[n], urls[n], body, args) for n in servers}
        return {name: future.result() for name, future in futures.items()}


def one_round(repos: dict[str, Path], body: str, args: argparse.Namespace,
              round_no: int) -> tuple[dict[str, dict], dict[str, dict]]:
    """Fresh servers for every variant (a process's memory layout and hash seed make two runs of the same code
    differ by a few percent: new ones each round average that out), loaded alone in turns, then together."""
    # Servers start, and together rounds begin their loads, in the round's order too: with a fixed order the
    # A/A pair differed by 1.5 to 2.9% in each of 5 rounds, one way (the same code; only its place differed).
    order = paired.rotated(list(repos), round_no)
    with contextlib.ExitStack() as stack:
        urls, servers = {}, {}
        jaeger_env = traced.start(stack, repos[traced.VARIANT].parent) if traced.VARIANT in repos else {}
        for name in order:
            env = {**VARIANTS[name][1], **(jaeger_env if name == traced.VARIANT else {})}
            proc, urls[name] = start(repos[name], env)
            stack.callback(proc.stop)
            servers[name] = psutil.Process(proc.pid)
            wrk.run(urls[name], body, seconds=2, connections=args.connections, cpu="1")  # warm-up
        alone = alone_in_turns(order, servers, urls, body, args)
        for name in order:
            print(f"alone round {round_no + 1}/{args.rounds} {name:14s} {paired.summary(alone[name])}", flush=True)
        joint = together(servers, urls, body, args)
        for name in order:  # the place each took, for paired.place_adjusted
            alone[name]["place"] = joint[name]["place"] = order.index(name)
        print(f"together round {round_no + 1}/{args.rounds}: "
              + ", ".join(f"{n} {r['cpu_us']:.0f} µs" for n, r in joint.items()), flush=True)
        return alone, joint


def figures(runs: dict[str, list[dict]], key: str) -> dict[str, list[float]]:
    """Each figure's per-round values on ``key`` (``rps`` or ``cpu_us``, a speed-up either way)."""
    out = {}
    for figure, (num, den, _) in RATIOS.items():
        if num in runs and den in runs:
            speed = paired.ratios(runs, num, den, key, lower_is_better=key == "cpu_us")
            out[figure] = [1 - r for r in speed] if figure.startswith("cost") else speed
    return out


def report(alone: dict[str, list[dict]], joint: dict[str, list[dict]]) -> dict:
    """Print the tables; return the figures."""
    print("\n| runtime | req/s alone, median (range) | p50 ms | p99 ms | non-2xx | CPU µs/request together |\n|---|---|---|---|---|---|")
    for name, rs in alone.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("p50_ms", "p99_ms")}
        print(f"| {name} | {paired.spread([r['rps'] for r in rs], '{:.0f}')} | {med['p50_ms']:.2f} | {med['p99_ms']:.2f} | "
              f"{sum(r['non_2xx'] for r in rs)} | {paired.spread([r['cpu_us'] for r in joint[name]], '{:.0f}')} |")
    out = {"alone, by throughput": figures(alone, "rps"), "alone, by CPU per request": figures(alone, "cpu_us"),
           "together, by CPU per request": figures(joint, "cpu_us")}
    for title, values in out.items():
        print(f"\n{title}\n\n{paired.HEADER}")
        for figure, per_round in values.items():
            print(paired.row(figure, per_round, "{:.1%}" if figure.startswith("cost") else "{:.2f}x", RATIOS[figure][2]))
    for title, runs, key in (("alone, by throughput", alone, "rps"), ("alone, by CPU per request", alone, "cpu_us"),
                             ("together, by CPU per request", joint, "cpu_us")):
        if fitted := place_removed(runs, key):
            out[f"{title}, round and place removed"] = fitted
            print(f"\n{title}, each round's and each place's effect removed (least squares), 95% interval\n")
            for figure, (value, low, high) in fitted.items():
                fmt = "{:.1%}" if figure.startswith("cost") else "{:.2f}x"
                print(f"- {figure}: {fmt.format(value)} ({fmt.format(low)} to {fmt.format(high)})")
    return out


def place_removed(runs: dict[str, list[dict]], key: str) -> dict[str, tuple[float, float, float]]:
    """Each figure, with its 95% interval, from ``paired.place_adjusted`` on ``key``; empty when it cannot fit."""
    fit = paired.place_adjusted(runs, key)
    out = {}
    for figure, (num, den, _) in RATIOS.items():
        if fit and num in fit.names and den in fit.names:
            speed = fit.ratio(num, den) if key == "rps" else fit.ratio(den, num)  # CPU: lower is faster
            out[figure] = (1 - speed[0], 1 - speed[2], 1 - speed[1]) if figure.startswith("cost") else speed
    return out


def main(argv: list[str] | None = None) -> int:
    """Alternate the runtimes over rounds; print medians and paired ratios."""
    parser = argparse.ArgumentParser(prog="python -m bench.runtime", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds of each kind, alone and together (default 5); a multiple of the variants' "
                             "number puts each variant in each place equally often")
    parser.add_argument("--seconds", type=int, default=5, help="seconds of load per variant and round (default 5)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--variants", default=",".join(v for v in VARIANTS if v != traced.VARIANT),
                        help=f"comma-separated subset of {', '.join(VARIANTS)} (default: all but {traced.VARIANT}, "
                             "which needs Jaeger: 'make tracing-tools')")
    parser.add_argument("--json", type=Path, help="also write every run and figure here")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.seconds < 1:
        parser.error("--rounds and --seconds must be at least 1")
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    if unknown := sorted(set(names) - set(VARIANTS)):
        parser.error(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    wrk.require()
    body = payloads.encode_rows("v2", dataset.load().X[:1].tolist()).decode()
    alone: dict[str, list[dict]] = {name: [] for name in names}
    joint: dict[str, list[dict]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as tmp:
        repos = prepare(Path(tmp), names)
        for round_no in range(args.rounds):
            a, j = one_round(repos, body, args, round_no)
            for name in names:
                alone[name].append(a[name])
                joint[name].append(j[name])
    if args.json:  # the runs first: a figure that cannot be worked out must not lose them
        args.json.write_text(json.dumps({"alone": alone, "together": joint}, indent=2))
    results = report(alone, joint)
    if args.json:
        args.json.write_text(json.dumps({"alone": alone, "together": joint, "figures": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
