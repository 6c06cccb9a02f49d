"""``canary controller | rollout | get | pause | resume | promote | abort | retry | fault``."""

import getpass
import json
import math
import os
import secrets
import sys
import time

from canary import controlapi, notify, procs, spec
from canary.client import ControlClient, NotRunning, StackClient
from canary.controller import Controller
from canary.provider import PrometheusProvider
from canary.settings import ControllerSettings, StackSettings
from canary.state import Store

EXIT_OK, EXIT_FAIL, EXIT_NOT_RUNNING = 0, 1, 3


def controller(settings: StackSettings, args) -> int:
    """Run the controller in the foreground: reconcile the rollout, serve the control API."""
    csettings = ControllerSettings()
    scale = args.time_scale or csettings.time_scale
    try:
        stack = StackClient(settings.run_dir)
        stack.status()
        rollout = spec.load(settings.k8s_dir)
    except (NotRunning, spec.SpecError) as exc:
        print(f"canary controller: {exc}", file=sys.stderr)
        return EXIT_FAIL
    store = Store(settings.run_dir / "controller.db")
    emit = lambda line: print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)  # noqa: E731
    alert = lambda event: notify.send(csettings.webhooks, event, lambda l: (store.event(l), emit(l)))  # noqa: E731
    ctrl = Controller(rollout, store, stack, PrometheusProvider(), time_scale=scale, emit=emit,
                      prometheus_address=f"http://127.0.0.1:{settings.prometheus_port}",
                      notify=alert if csettings.webhooks else None)
    token = secrets.token_hex(16)
    server = controlapi.serve(ctrl, csettings.control_port, token, stack)
    path = settings.run_dir / "controller.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": os.getpid(), "api": f"http://127.0.0.1:{csettings.control_port}", "token": token}, f)
    stop = procs.StopFlag()
    emit(f"controller for Rollout {rollout.name} ready on http://127.0.0.1:{csettings.control_port}"
         + (f" (time-scale {scale:g})" if scale != 1 else "") + f"; stable {ctrl.state.stable}")
    while not stop:
        time.sleep(csettings.tick_s)
        try:
            ctrl.reconcile()
        except (RuntimeError, NotRunning, OSError) as exc:  # the stack is busy or gone: try again next tick
            emit(f"warning: {exc}")
            time.sleep(1.0)
    server.shutdown()
    path.unlink(missing_ok=True)
    return EXIT_OK


def _client(settings: StackSettings) -> ControlClient:
    return ControlClient(settings.run_dir, user=os.environ.get("CANARY_USER") or getpass.getuser())


def command(settings: StackSettings, args) -> int:
    """One control, then the rollout as 'canary get' shows it."""
    try:
        client = _client(settings)
        if args.command == "rollout":
            faults = {k: v for k, v in (("error_ratio", args.error_ratio), ("latency_ms", args.latency_ms),
                                        ("wrong_ratio", args.wrong_ratio)) if v is not None}
            client.post("/rollout", {"version": args.version, "faults": faults})
        elif args.command == "fault":
            change = {k: v for k, v in (("error_ratio", args.error_ratio), ("latency_ms", args.latency_ms),
                                        ("wrong_ratio", args.wrong_ratio)) if v is not None}
            if args.unready:
                change["unready"] = True
            if args.clear:
                change["clear"] = True
            if len(change) == 0:
                print("canary fault: say what to change (--error-ratio, --latency-ms, --wrong-ratio, --unready, --clear)",
                      file=sys.stderr)
                return 2
            print(json.dumps(client.post("/fault", {"version": args.version, **change})))
            return EXIT_OK
        elif args.command == "promote":
            client.post("/promote", {"full": args.full})
        else:
            client.post(f"/{args.command}")
        print(render(client.get(events=5)))
    except NotRunning as exc:
        print(exc, file=sys.stderr)
        return EXIT_NOT_RUNNING
    except RuntimeError as exc:
        print(f"canary {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def get(settings: StackSettings, args) -> int:
    try:
        client = _client(settings)
        if args.json:
            print(json.dumps(client.get(), indent=2))
            return EXIT_OK
        if not args.watch:
            print(render(client.get()))
            return EXIT_OK
        last = 0
        while True:  # --watch: new event lines as they come, then the state when it settles
            for event in client.events(after=last):
                print(f"{time.strftime('%H:%M:%S', time.localtime(event['at']))} {event['line']}", flush=True)
                last = event["id"]
            time.sleep(1)
    except NotRunning as exc:
        print(exc, file=sys.stderr)
        return EXIT_NOT_RUNNING
    except KeyboardInterrupt:
        return EXIT_OK


def _value(v) -> str:
    if isinstance(v, list):
        v = v[0] if v else None
    if v is None:
        return "no data"
    return "NaN" if isinstance(v, float) and math.isnan(v) else f"{v:.3f}" if isinstance(v, (int, float)) else str(v)


def render(doc: dict) -> str:
    lines = [f"Phase:    {doc['phase']}" + (f" ({doc['message']})" if doc["message"] else "")
             + (f", paused: {doc['pause_reason'] or 'by request'}" if doc["paused"] or doc["pause_reason"] else "")]
    if doc["target"]:
        lines.append(f"Step:     {doc['step'] + 1 if doc['step'] < doc['steps'] else doc['steps']}/{doc['steps']}"
                     + (f" ({doc['current_step']})" if doc["current_step"] else ""))
        lines.append(f"Weights:  {doc['stable']} {100 - doc['weight']}%, {doc['target']} {doc['weight']}%"
                     + (f"; header routes {doc['header_routes']}" if doc["header_routes"] else ""))
        if doc["faults"]:
            lines.append(f"Faults:   {doc['target']}: {doc['faults']}")
    else:
        lines.append(f"Stable:   {doc['stable']} (100%)")
    if doc["time_scale"] != 1:
        lines.append(f"Time:     scaled {doc['time_scale']:g}x")
    if doc["analysis"]:
        lines.append(f"Analysis: {doc['analysis']['name']} {doc['analysis']['phase']}")
        for m in doc["analysis"]["metrics"]:
            values = " ".join(f"{_value(x['value'])}:{x['phase'][0]}" for x in m["measurements"])
            lines.append(f"  {m['name']:<14} {m['phase']:<12} count {m['count']}, failed {m['failed']}, "
                         f"errors {m['errors']}  [{values}]")
    if doc["events"]:
        lines.append("Events:")
        lines += [f"  {time.strftime('%H:%M:%S', time.localtime(e['at']))} {e['line']}" for e in doc["events"]]
    return "\n".join(lines)
