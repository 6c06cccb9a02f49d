"""``canary up | down | status | logs | stack ...``: the local stack's commands."""

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from canary.cli.errors import EXIT_FAIL, EXIT_NOT_RUNNING, EXIT_OK, one_line_errors
from canary.cli.logs import setup as setup_logging
from canary.local import procs, stack_status
from canary.local.client import ApiError, NotRunning, StackClient
from canary.local.managed import StackError
from canary.local.settings import StackSettings
from canary.polling import wait_until
from canary.webapi import ServerThread

log = logging.getLogger("canary.stack")


def _with_flags(settings: StackSettings, args: argparse.Namespace) -> StackSettings:
    """The settings with 'canary up's flags over their CANARY_* variables, validated as those are."""
    given = {name: getattr(args, name) for name in ("runtime", "model", "artifacts") if getattr(args, name)}
    return StackSettings.model_validate({**settings.model_dump(), **given}) if given else settings


def _already_running(settings: StackSettings) -> bool:
    """Whether a stack answers for this run directory (said on stderr)."""
    try:
        StackClient(settings.run_dir, timeout_s=5).status()
    except (NotRunning, ApiError):
        return False
    print(f"a stack already runs with run directory {settings.run_dir}; 'canary down' stops it", file=sys.stderr)
    return True


def up(settings: StackSettings, args: argparse.Namespace) -> int:
    """Run the stack in the foreground until Ctrl-C, SIGTERM or 'canary down'."""
    settings = _with_flags(settings, args)
    if _already_running(settings):
        return EXIT_FAIL
    # Imported here: the stack reads the packaged versions (scikit-learn, skops), seconds of imports that
    # 'canary status', 'down' and 'logs' do not need.
    from canary.local import stackapi
    from canary.local.stack import Stack

    stop = threading.Event()  # set by 'canary down' through the API
    signalled = procs.StopFlag()
    setup_logging(settings.log_format)
    stack = Stack(settings, emit=log.info)
    try:
        seconds = stack.up()
    except StackError as exc:
        print(f"canary up: {exc}", file=sys.stderr)
        return EXIT_FAIL
    changes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stack-changes")
    try:
        server = ServerThread(stackapi.create(stack, stop, changes), settings.api_port, "stack-api").start()
    except OSError as exc:
        stack.down()
        print(f"canary up: {exc}; set CANARY_API_PORT", file=sys.stderr)
        return EXIT_FAIL
    log.info(f"stack ready in {seconds:.1f}s ({settings.runtime}, stable {settings.stable_version}): gateway "
             f"http://127.0.0.1:{settings.gateway_port}, Prometheus http://127.0.0.1:{settings.prometheus_port}; "
             "Ctrl-C or 'canary down' stops it")
    try:
        while not (stop.is_set() or signalled):
            time.sleep(0.5)
            for line in stack_status.deaths(stack):
                log.warning(line)
    finally:
        log.info("stopping the stack")
        server.stop()
        changes.shutdown(wait=True)
        stack.down()
    return EXIT_OK


def down(settings: StackSettings, args: argparse.Namespace) -> int:
    """Ask the supervisor to stop; if it does not answer, signal it and its children by pid."""
    try:
        client = StackClient(settings.run_dir, timeout_s=5)
    except NotRunning as exc:
        print(exc, file=sys.stderr)
        return EXIT_NOT_RUNNING
    pid = client.state["pid"]
    try:
        client.shutdown()
    except (NotRunning, ApiError):
        _kill(pid, signal.SIGTERM)
    wait_until(lambda: not procs.alive(pid), 30, 0.2)
    # A supervisor killed outright: its children get SIGTERM from the kernel, but make sure.
    for child in client.state.get("pids", {}).values():
        if procs.alive(child):
            _kill(child, signal.SIGKILL)
    (settings.run_dir / "stack.json").unlink(missing_ok=True)
    print("stack stopped")
    return EXIT_OK


def status(settings: StackSettings, args: argparse.Namespace) -> int:
    """Each process with its pid, port, role and health; exit 1 if any is not ready."""
    try:
        doc = StackClient(settings.run_dir, timeout_s=5).status()
    except NotRunning as exc:
        print(exc, file=sys.stderr)
        return EXIT_NOT_RUNNING
    if args.json:
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    weight = f"canary {doc['canary']} at {doc['canary_weight']}%" if doc["canary"] else "no canary"
    print(f"gateway {doc['gateway']} ({doc['runtime']}): stable {doc['stable']}, {weight}"
          + (f", header routes {doc['header_routes']}" if doc["header_routes"] else ""))
    print(f"traces {doc['traces']} (Jaeger)" if doc.get("traces") else doc.get("tracing_off") or "tracing is off")
    print(f"{'NAME':<14} {'PID':>7} {'PORT':>6} {'ROLE':<9} {'STATE':<12} HEALTH")
    for p in doc["processes"]:
        print(f"{p['name']:<14} {p['pid']:>7} {p['port']:>6} {p['role']:<9} {p['state']:<12} "
              f"{'ready' if p['healthy'] else 'NOT READY'}")
    return EXIT_OK if all(p["healthy"] for p in doc["processes"]) else EXIT_FAIL


def logs(settings: StackSettings, args: argparse.Namespace) -> int:
    """The last lines of one process's log."""
    path = settings.run_dir / "logs" / f"{args.name}.log"
    if not path.exists():
        known = sorted(p.stem for p in (settings.run_dir / "logs").glob("*.log"))
        print(f"no log for {args.name!r}; known: {', '.join(known) or 'none (is the stack up?)'}", file=sys.stderr)
        return EXIT_FAIL
    print("\n".join(path.read_text(errors="replace").splitlines()[-args.lines:]))
    return EXIT_OK


@one_line_errors(lambda args: f"stack {args.stack_cmd}")
def stack_command(settings: StackSettings, args: argparse.Namespace) -> int:
    """Manual changes: what the rollout controller does, by hand."""
    client = StackClient(settings.run_dir)
    if args.stack_cmd == "add-canary":
        client.add_canary(args.version)
    elif args.stack_cmd == "remove-canary":
        client.remove_canary()
    elif args.stack_cmd == "route":
        routes = [{"name": "manual", "match": [{"headerName": h.split(":", 1)[0].strip(),
                                                 "headerValue": {"exact": h.split(":", 1)[1].strip()}}]}
                  for h in args.header or []]
        client.set_routing(args.weight, routes)
    elif args.stack_cmd == "promote":
        client.promote_canary()
    elif args.stack_cmd == "retire":
        client.retire(args.version)
    return status(settings, type("Args", (), {"json": False})())


def _kill(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
