"""A real Jaeger for ``bench.runtime``'s ``ours-traced`` variant: MLServer's spans of every request go to it."""

import contextlib
import os
from pathlib import Path

from bench.loadgen import pinned
from canary.local import ports, procs, tracing
from canary.local.settings import StackSettings

VARIANT = "ours-traced"


def start(stack: contextlib.ExitStack, folder: Path) -> dict[str, str]:
    """Start Jaeger on free ports, stopped with ``stack``; the variables that point MLServer's tracing at it."""
    jaeger = tracing.binary(StackSettings())
    if jaeger is None:
        raise SystemExit(f"bench: {VARIANT} needs Jaeger: run 'make tracing-tools'")
    settings = StackSettings(tracing_port=ports.free_block(tracing.PORTS, os.getpid()))
    # On the load generator's CPU, not the measured servers' (bench.runtime pins those to CPU 0)
    proc = procs.start(pinned("1", tracing.prepare(settings, folder / "jaeger")), folder / "jaeger.log", cwd=folder)
    stack.callback(proc.stop)
    procs.wait_http_ok(proc, tracing.ready_url(settings))
    return {"MLSERVER_TRACING_SERVER": f"127.0.0.1:{tracing.port(settings, tracing.OTLP_GRPC)}"}
