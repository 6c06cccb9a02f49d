"""``canary controller | rollout | get | pause | resume | promote | abort | retry | fault``."""

import argparse
import dataclasses
import getpass
import json
import logging
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import disable_created_metrics

from canary import statefile
from canary.cli import live
from canary.cli.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE, one_line_errors
from canary.cli.logs import setup as setup_logging
from canary.cli.render import render
from canary.local import controlapi, procs
from canary.local.adapters import StackPlatform
from canary.local.client import ApiError, ControlClient, NotRunning, StackClient
from canary.local.settings import ControllerSettings, StackSettings
from canary.rollout import notify, spec
from canary.rollout.controller import Controller, Platform
from canary.rollout.metrics import ControllerMetrics
from canary.rollout.prometheus import PrometheusProvider
from canary.rollout.saved import SavedStateError
from canary.rollout.state import Store
from canary.webapi import ServerThread
from servers.faults import FaultUpdate
from servers.settings import FaultFields

log = logging.getLogger("canary.controller")


def _emit(line: str) -> None:
    log.info(line)


def _build(settings: StackSettings, csettings: ControllerSettings, scale: float, restart_steps: bool) -> Controller:
    """The controller over the running stack; NotRunning, SpecError or SavedStateError when it cannot be built."""
    stack = StackClient(settings.run_dir)
    model = stack.status().get("model", settings.model)  # as 'canary up --model' started the stack
    # k8s/ names the Rollout after the model, as wine (hack/render.sh renames it): here, the stack's model.
    rollout = dataclasses.replace(spec.load(settings.k8s_dir), name=model)
    store = Store(settings.run_dir / "controller.db")
    platform = StackPlatform(stack)

    def record(line: str) -> None:
        store.event(line)
        _emit(line)

    def alert(event: dict[str, Any]) -> None:
        notify.send(csettings.webhooks, event, record)

    return Controller(rollout, store, Platform(platform, platform, PrometheusProvider(), observer=platform),
                      time_scale=scale, emit=_emit,
                      prometheus_address=f"http://127.0.0.1:{settings.prometheus_port}",
                      judge_address=f"http://127.0.0.1:{settings.judge_port}",
                      notify=alert if csettings.webhooks else None, restart_steps=restart_steps)


def _write_state(path: Path, port: int, token: str) -> None:
    statefile.write_json(path, {"pid": os.getpid(), "api": f"http://127.0.0.1:{port}", "token": token})


def controller(settings: StackSettings, args: argparse.Namespace) -> int:
    """Run the controller in the foreground: reconcile the rollout, serve the control API."""
    csettings = ControllerSettings()
    scale = args.time_scale or csettings.time_scale
    setup_logging(settings.log_format)
    disable_created_metrics()  # Argo's series have no _created: the same board, the same series
    try:
        ctrl = _build(settings, csettings, scale, args.restart_steps)
        token, metrics = secrets.token_hex(16), ControllerMetrics(ctrl, _namespace(settings.k8s_dir))
        app = controlapi.create(ctrl, token, StackClient(settings.run_dir),
                                f"http://127.0.0.1:{settings.prometheus_port}",
                                f"http://127.0.0.1:{settings.judge_port}", metrics.registry)
        server = ServerThread(app, csettings.control_port, "control-api").start()
    except (NotRunning, ApiError, spec.SpecError, SavedStateError, OSError) as exc:
        print(f"canary controller: {exc}", file=sys.stderr)
        return EXIT_FAIL
    path = settings.run_dir / "controller.json"
    _write_state(path, csettings.control_port, token)
    stop = procs.StopFlag()
    _emit(f"controller for Rollout {ctrl.spec.name} ready on http://127.0.0.1:{csettings.control_port}"
          + (f" (time-scale {scale:g})" if scale != 1 else "") + f"; stable {ctrl.state.stable}")
    try:
        _loop(ctrl, stop, csettings.tick_s, metrics)
    finally:
        server.stop()
        path.unlink(missing_ok=True)
    return EXIT_OK


def _loop(ctrl: Controller, stop: procs.StopFlag, tick_s: float, metrics: ControllerMetrics) -> None:
    """Reconcile until stopped, timed and counted as Argo's rollout_reconcile; nothing a reconcile raises ends
    the loop."""
    while not stop:
        time.sleep(tick_s)
        try:
            with metrics.reconcile.time():
                ctrl.reconcile()
        except Exception as exc:  # noqa: BLE001 - the stack busy or gone, a bug: say so, try again next tick
            metrics.failed()
            log.warning(f"reconcile failed: {type(exc).__name__}: {exc}")
            time.sleep(1.0)


def _namespace(k8s_dir: Path) -> str:
    """The namespace kustomize gives the Rollout, which Argo's series carry and the Grafana board selects."""
    try:
        doc = yaml.safe_load((k8s_dir / "base" / "kustomization.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        doc = {}
    return doc.get("namespace") or "default"


def _client(settings: StackSettings) -> ControlClient:
    return ControlClient(settings.run_dir, user=os.environ.get("CANARY_USER") or getpass.getuser())


def _fault_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The fault flags given on the command line, as fields of FaultUpdate."""
    names = [*FaultFields.model_fields, "clear"]
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


@one_line_errors(lambda args: args.command)
def command(settings: StackSettings, args: argparse.Namespace) -> int:
    """One control, then the rollout as 'canary get' shows it."""
    client = _client(settings)
    if args.command == "rollout":
        client.post("/rollout", {"version": args.version, "faults": FaultUpdate(**_fault_fields(args)).model_dump(
            exclude_none=True, exclude={"clear"})})
    elif args.command == "fault":
        change = _fault_fields(args)
        if not change:
            print("canary fault: say what to change (" + ", ".join(
                "--" + n.replace("_", "-") for n in [*FaultFields.model_fields, "clear"]) + ")", file=sys.stderr)
            return EXIT_USAGE
        print(json.dumps(client.post("/fault", {"version": args.version, **change})))
        return EXIT_OK
    elif args.command == "promote":
        client.post("/promote", {"full": args.full})
    else:
        client.post(f"/{args.command}")
    print(render(client.get(events=5)))
    return EXIT_OK


@one_line_errors(lambda args: "get")
def get(settings: StackSettings, args: argparse.Namespace) -> int:
    """The rollout once, as JSON; with --watch redrawn live on a terminal, else followed event by event."""
    client = _client(settings)
    if args.json or not args.watch:
        doc = client.get()
        print(json.dumps(doc, indent=2) if args.json else render(doc))
        return EXIT_OK
    last = 0
    try:
        if sys.stdout.isatty():
            live.watch(client)
        while True:  # --watch into a pipe or a file: new event lines as they come
            for event in client.events(after=last):
                print(f"{time.strftime('%H:%M:%S', time.localtime(event['at']))} {event['line']}", flush=True)
                last = event["id"]
            time.sleep(1)
    except KeyboardInterrupt:
        return EXIT_OK
