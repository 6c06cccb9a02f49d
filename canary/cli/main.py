"""``canary``: the one-machine canary stack and its rollout controller."""

import argparse
import importlib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import cast

from pydantic import ValidationError

from canary.cli import unexpected
from canary.cli.errors import Command
from canary.local.settings import StackSettings
from models.names import NAME_PATTERN
from servers.settings import FaultFields


def add_fault_flags(parser: argparse._ActionsContainer) -> None:
    """One flag per fault field (--error-ratio, --latency-ms, ...), from the one definition in servers.settings."""
    for name, info in FaultFields.model_fields.items():
        flag = "--" + name.replace("_", "-")
        if info.annotation is bool:
            parser.add_argument(flag, action="store_true", default=None, help=info.description)
        else:  # cast: every other fault field is a number, and its annotation (float) parses the flag's value
            parser.add_argument(flag, type=cast("Callable[[str], object]", info.annotation), help=info.description)


def _lazy(module: str, name: str) -> Command:
    """A command whose module is imported when it runs: only 'canary up' needs scikit-learn and skops (to read
    the packaged versions), seconds of imports that made 'canary dashboard' or 'canary get' take 5 s here
    (30 s on a crowded machine)."""

    def run(settings: StackSettings, args: argparse.Namespace) -> int:
        command: Command = getattr(importlib.import_module(f"canary.cli.{module}"), name)
        return command(settings, args)

    return run


def model_name(value: str) -> str:
    """A --model value, refused as a usage error unless it is a name models.package takes."""
    if not re.fullmatch(NAME_PATTERN, value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a model name: 1-32 lower-case letters, digits and '-', "
                                         "starting with a letter (python -m models.package --name)")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Every command and flag; names mirror 'kubectl argo rollouts' where they overlap."""
    p = argparse.ArgumentParser(prog="canary", description="Model canaries on one machine: real runtimes, Envoy and "
                                "Prometheus, and a rollout controller that runs k8s/'s Rollout. Settings come from "
                                "CANARY_* variables (docs/local.md).")
    p.add_argument("--debug", action="store_true", help="print the traceback of an unexpected error")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = sub.add_parser("up", help="start the stack in the foreground (Ctrl-C stops it)")
    up.add_argument("--runtime", choices=("mlserver", "seldon"), help="runtime serving the models (CANARY_RUNTIME)")
    up.add_argument("--model", type=model_name, help="the model's name, as packaged (CANARY_MODEL; default wine, "
                    "the demo)")
    up.add_argument("--artifacts", type=Path, help="the packaged versions' root (CANARY_ARTIFACTS; default artifacts)")
    up.set_defaults(func=_lazy("stack", "up"))
    sub.add_parser("down", help="stop a running stack and every process it started").set_defaults(
        func=_lazy("stack", "down"))
    st = sub.add_parser("status", help="each process with its pid, port and health")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=_lazy("stack", "status"))
    lg = sub.add_parser("logs", help="the last lines of a process's log")
    lg.add_argument("name", help="prometheus, envoy, runtime-v1, sidecar-v1, runtime-v2, ...")
    lg.add_argument("-n", "--lines", type=int, default=50)
    lg.set_defaults(func=_lazy("stack", "logs"))
    sk = sub.add_parser("stack", help="change the stack by hand (what a rollout does)")
    sks = sk.add_subparsers(dest="stack_cmd", required=True, metavar="ACTION")
    sks.add_parser("add-canary", help="start a runtime for VERSION as the canary").add_argument("version")
    sks.add_parser("remove-canary", help="route all traffic to stable and stop the canary")
    route = sks.add_parser("route", help="set the canary's weight and header routes")
    route.add_argument("--weight", type=int, required=True, help="canary share of traffic, 0..100")
    route.add_argument("--header", action="append", metavar="'NAME: VALUE'",
                       help="requests with this header go to the canary")
    sks.add_parser("promote", help="make the canary the stable version, with all traffic")
    sks.add_parser("retire", help="stop a version that no longer serves").add_argument("version")
    sk.set_defaults(func=_lazy("stack", "stack_command"))
    _rollout_commands(sub)
    return p


def _rollout_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """The controller and its controls; names mirror 'kubectl argo rollouts'."""
    ctl = sub.add_parser("controller", help="run the rollout controller in the foreground")
    ctl.add_argument("--time-scale", type=float, help="run every duration this many times faster (CANARY_TIME_SCALE)")
    ctl.add_argument("--restart-steps", action="store_true",
                     help="when k8s/'s steps changed under a running rollout: "
                          "start it over at step 1 with the new steps")
    ctl.set_defaults(func=_lazy("rollout", "controller"))
    ro = sub.add_parser("rollout", help="start a rollout to VERSION through the Rollout's steps")
    ro.add_argument("version")
    add_fault_flags(ro.add_argument_group("faults the new version starts with (its FAULT_* variables)"))
    ro.set_defaults(func=_lazy("rollout", "command"))
    gt = sub.add_parser("get", help="phase, step, weights, the current analysis and recent events")
    gt.add_argument("--watch", action="store_true",
                    help="on a terminal, redraw the rollout live (plan, weights, analysis, events); "
                         "into a pipe, follow the event log; until Ctrl-C")
    gt.add_argument("--json", action="store_true")
    gt.set_defaults(func=_lazy("rollout", "get"))
    for name, text in (("pause", "pause the rollout"), ("resume", "resume a rollout paused by request"),
                       ("abort", "abort: canary weight 0 at once, then scale it down"),
                       ("retry", "restart an aborted rollout from step 1")):
        sub.add_parser(name, help=text).set_defaults(func=_lazy("rollout", "command"))
    pr = sub.add_parser("promote", help="skip the current pause or analysis")
    pr.add_argument("--full", action="store_true", help="skip every remaining step")
    pr.set_defaults(func=_lazy("rollout", "command"))
    jd = sub.add_parser("judge",
                        help="the judge's tests for the running rollout: counts, e-values, confidence sequences")
    jd.add_argument("--json", action="store_true")
    jd.set_defaults(func=_lazy("judge", "judge"))
    ft = sub.add_parser("fault", help="flip a running version's fault switch, without a restart")
    ft.add_argument("version")
    add_fault_flags(ft)
    ft.add_argument("--clear", action="store_true", default=None, help="all faults off (applied first)")
    ft.set_defaults(func=_lazy("rollout", "command"))
    db = sub.add_parser("dashboard", help="the rollout dashboard's URL (served by the controller)")
    how = db.add_mutually_exclusive_group()
    how.add_argument("--open", action="store_true", help="open it in a browser, logged in with a one-time link")
    how.add_argument("--login-url", action="store_true", help="print a one-time login link (valid for a minute)")
    db.set_defaults(func=_lazy("dashboard", "dashboard"))


def main(argv: list[str] | None = None) -> int:
    """Parse, read CANARY_* settings once, run the command; the exit code scripts can trust."""
    args = build_parser().parse_args(argv)
    try:
        settings = StackSettings()
    except ValidationError as exc:
        problems = "; ".join(f"CANARY_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        print(f"canary: bad CANARY_* environment variable: {problems}", file=sys.stderr)
        return 2
    try:
        command: Command = args.func
        return command(settings, args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - no traceback reaches a person unless asked for
        return unexpected.report(f"canary {args.command}", exc, settings.run_dir / "logs", args.debug)


if __name__ == "__main__":
    sys.exit(main())
