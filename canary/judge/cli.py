"""``python -m canary.judge``: serve the judge (flags override JUDGE_* variables)."""

import argparse
import gc
import sys

import uvicorn
from pydantic import ValidationError

from canary.judge import service
from canary.judge.settings import JudgeSettings


def build_parser() -> argparse.ArgumentParser:
    """The flags a person or a pod spec sets most; every setting also has a JUDGE_ variable."""
    p = argparse.ArgumentParser(prog="python -m canary.judge", description=(
        "The sequential canary judge: GET /v1/judge?canary=REV&stable=REV&weight=W compares the canary revision "
        "with the stable one on errors and slow answers, with anytime-valid tests (docs/judge.md)."))
    p.add_argument("--prometheus-url", help="Prometheus' HTTP API (JUDGE_PROMETHEUS_URL)")
    p.add_argument("--source", choices=("envoy", "istio"),
                   help="whose counters: the local Envoy or Istio (JUDGE_SOURCE)")
    p.add_argument("--host", help="address to listen on (JUDGE_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (JUDGE_PORT, default 8097)")
    p.add_argument("--alpha", type=float,
                   help="false-fail rate of the whole family of tests (JUDGE_ALPHA, default 0.01)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse, read the settings once, serve until interrupted."""
    args = build_parser().parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if v is not None}
    try:
        settings = JudgeSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"judge: bad setting: {problems}", file=sys.stderr)
        return 2
    print(f"judge on http://{settings.host}:{settings.port}/v1/judge, counts from {settings.source} "
          f"at {settings.prometheus_url}", flush=True)
    app = service.create(settings)
    # What is loaded by now (modules, the app) lives as long as the process: frozen out of the collector,
    # a full collection (which pauses every answer) walks only what the analyses hold (docs/benchmarks.md).
    gc.collect()
    gc.freeze()
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                    access_log=False)
    except KeyboardInterrupt:
        return 130
    return 0
