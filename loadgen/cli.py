"""``python -m loadgen``: flags, then run, print progress and the summary, set the exit code."""

import argparse
import asyncio
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

from pydantic import ValidationError

from canary.cli import unexpected
from canary.rollout.durations import format_s, seconds
from loadgen import datafile, report, shapes
from loadgen.feedback import FeedbackSender
from loadgen.payloads import PROTOCOLS, PayloadPool, path_for
from loadgen.runner import Plan, Runner
from loadgen.settings import DEFAULT_TARGET, LoadgenSettings
from loadgen.stats import CONNECT_ERROR, Stats

EXIT_OK, EXIT_BELOW, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def build_parser(defaults: LoadgenSettings) -> argparse.ArgumentParser:
    """The flags, each defaulting to its LOADGEN_* variable."""
    p = argparse.ArgumentParser(
        prog="python -m loadgen",
        description="Open-loop load for V2 / Seldon inference endpoints, with per-version results. "
        "Every flag has a LOADGEN_<FLAG> environment fallback.",
    )
    p.add_argument("--target", default=defaults.target, help=f"base URL (default {DEFAULT_TARGET}, the one-machine gateway)")
    p.add_argument("--rps", type=float, default=defaults.rps, help="requests per second (default %(default)s); a ramp's end rate")
    p.add_argument("--duration", default=defaults.duration, help="30s, 5m, ... (default: until Ctrl-C)")
    p.add_argument("--protocol", choices=PROTOCOLS, default=defaults.protocol, help="default %(default)s")
    p.add_argument("--model", default=defaults.model, help="model name in the V2 path (default %(default)s)")
    p.add_argument("--header", action="append", default=None, metavar="'NAME: VALUE'",
                   help="extra request header, repeatable (pin a version, set a canary header); "
                   "given once or more, replaces LOADGEN_HEADERS")
    p.add_argument("--shape", choices=("constant", "ramp", "steps"), default=defaults.shape, help="default %(default)s")
    p.add_argument("--ramp-from", type=float, default=defaults.ramp_from, help="ramp start rate (default %(default)s)")
    p.add_argument("--ramp-over", default=defaults.ramp_over, help="ramp length (default %(default)s)")
    p.add_argument("--steps", default=defaults.steps or None, help="RPS:DURATION,... for --shape steps, e.g. 50:30s,200:30s")
    p.add_argument("--timeout", default=defaults.timeout, help="per-request timeout (default %(default)s)")
    p.add_argument("--max-in-flight", type=int, default=defaults.max_in_flight,
                   help="safety cap on outstanding requests; sends past it count as failed (default %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="payload seed (default %(default)s)")
    p.add_argument("--invalid-ratio", type=float, default=defaults.invalid_ratio,
                   help="share of deliberately malformed payloads, 0..1 (default %(default)s)")
    p.add_argument("--batch-rows", type=int, default=defaults.batch_rows, help="rows per request (default %(default)s)")
    _feedback_flags(p, defaults)
    datafile.add_flags(p, defaults)
    p.add_argument("--json", type=Path, default=Path(defaults.json_path) if defaults.json_path else None,
                   help="write the summary as JSON to this path")
    p.add_argument("--fail-under", "--fail-below", dest="fail_below", type=float, default=defaults.fail_below,
                   metavar="RATIO", help="exit 1 when the overall success ratio ends below this (0..1)")
    p.add_argument("--quiet", action="store_true", default=defaults.quiet, help="no live progress")
    p.add_argument("--metrics-port", type=int, default=defaults.metrics_port,
                   help="serve the generator's own Prometheus metrics on this port")
    p.add_argument("--debug", action="store_true", help="print the traceback of an unexpected error")
    p.add_argument("--late-threshold-ms", type=float, default=defaults.late_threshold_ms,
                   help="a send this far behind schedule counts as late (default %(default)s)")
    return p


def _feedback_flags(p: argparse.ArgumentParser, defaults: LoadgenSettings) -> None:
    p.add_argument("--feedback-ratio", type=float, default=defaults.feedback_ratio,
                   help="share of answers whose true class is sent back to the version that answered, 0..1 "
                   "(default %(default)s)")
    p.add_argument("--feedback-delay", default=defaults.feedback_delay,
                   help="how long after its answer each feedback is sent, e.g. 30s (default %(default)s)")


def parse_headers(values: list[str]) -> dict[str, str]:
    """'Name: value' strings as a dict; ValueError names the malformed one."""
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"header {value!r} must look like 'Name: value'")
        headers[name.strip()] = content.strip()
    return headers


def make_runner(args, stats: Stats, on_result=None) -> Runner:
    """Validate the flags into a Runner; ValueError names the bad flag."""
    shape = shapes.build(args.shape, args.rps, args.ramp_from, seconds(args.ramp_over), args.steps)
    duration = seconds(args.duration) if args.duration else None
    if duration is None and args.shape == "steps":
        duration = sum(span for _, span in shape.steps)
    if not 0 <= args.invalid_ratio <= 1:
        raise ValueError(f"--invalid-ratio {args.invalid_ratio} is outside 0..1")
    if args.max_in_flight < 1:
        raise ValueError("--max-in-flight must be at least 1")
    if not args.target.startswith(("http://", "https://")):
        raise ValueError(f"--target {args.target!r} must be a base URL such as http://127.0.0.1:8080")
    plan = Plan(
        url=args.target.rstrip("/") + path_for(args.protocol, args.model),
        headers=parse_headers(args.header or []),
        duration_s=duration,
        timeout_s=seconds(args.timeout),
        max_in_flight=args.max_in_flight,
        late_threshold_s=args.late_threshold_ms / 1000,
    )
    pool = datafile.pool_for(args, plan.headers, plan.timeout_s) if args.data else PayloadPool(
        args.protocol, random.Random(args.seed), args.invalid_ratio, args.batch_rows)
    feedback = FeedbackSender(args.target, args.protocol, args.feedback_ratio, seconds(args.feedback_delay),
                              random.Random(f"{args.seed}-feedback"))
    return Runner(plan, shape.schedule(), pool, stats, on_result, feedback)


async def _progress(runner: Runner, quiet: bool, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        last = loop.time()
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            pass
        window = runner.stats.take_window()
        if not quiet:
            line = report.progress_line(loop.time() - runner.started, window, runner.stats, loop.time() - last)
            print(line, file=sys.stderr, flush=True)


async def _run(runner: Runner, quiet: bool) -> bool:
    """Run until the schedule ends or SIGINT/SIGTERM; True when interrupted."""
    loop = asyncio.get_running_loop()
    stop, done = asyncio.Event(), asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    progress = loop.create_task(_progress(runner, quiet, done))
    try:
        await runner.run(stop)
    finally:
        done.set()
        await progress
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return stop.is_set()


def main(argv: list[str] | None = None) -> int:
    """Run the load generator: exit 0, 1 below --fail-under, 2 for bad flags or data, 3 when nothing listens at the
    target; never a traceback unless --debug."""
    try:
        defaults = LoadgenSettings()
    except ValidationError as exc:
        problems = "; ".join(f"LOADGEN_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        print(f"loadgen: bad LOADGEN_* environment variable: {problems}", file=sys.stderr)
        return EXIT_USAGE
    args = build_parser(defaults).parse_args(argv)
    if args.header is None:  # an append flag's default would be appended to: the variable applies here
        args.header = list(defaults.headers)
    try:
        return _run_main(args)
    except Exception as exc:  # noqa: BLE001 - one line for the person, the traceback in a file
        return unexpected.report("loadgen", exc, Path(tempfile.gettempdir()) / "ml-canary", args.debug)


def _run_main(args) -> int:
    stats = Stats()
    exporter = None
    try:
        if args.metrics_port is not None:
            from loadgen import exporter as exporter_mod

            exporter = exporter_mod.serve(args.metrics_port, args.rps)
        runner = make_runner(args, stats, exporter.observe if exporter else None)
    except OSError as exc:
        print(f"loadgen: cannot serve metrics on port {args.metrics_port}: {exc.strerror or exc}; "
              "pick another --metrics-port", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"loadgen: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except datafile.NothingAnswers as exc:
        print(f"loadgen: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    if not args.quiet:
        span = format_s(runner.plan.duration_s) if runner.plan.duration_s else "until Ctrl-C"
        print(f"loadgen: {args.shape} {args.rps:g} rps -> {runner.plan.url} for {span}", file=sys.stderr, flush=True)
    started = time.time()
    interrupted = asyncio.run(_run(runner, args.quiet))
    elapsed = runner.elapsed_s or (time.time() - started)
    # A varying shape has no single target: report what the schedule offered on average.
    offered = args.rps if args.shape == "constant" or not elapsed else stats.scheduled / elapsed
    doc = report.summary(stats, elapsed, offered, {"interrupted": interrupted, "url": runner.plan.url, "shape": args.shape})
    report.add_feedback(doc, runner.feedback, runner.feedback_unsent)
    print(report.table(doc))
    if args.json:
        report.write_json(args.json, doc)
    if doc["requests"] and set(doc["status_codes"]) == {CONNECT_ERROR}:  # slow answers are figures, not this
        print(f"loadgen: nothing answered at {runner.plan.url}: all {doc['requests']} connections were refused or "
              "reset (is the target up? --target)", file=sys.stderr)
        return EXIT_UNREACHABLE
    if args.fail_below is not None and doc["success_ratio"] < args.fail_below:
        print(f"loadgen: success ratio {doc['success_ratio']:.4f} is below --fail-under {args.fail_below}", file=sys.stderr)
        return EXIT_BELOW
    return EXIT_OK
