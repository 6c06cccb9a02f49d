"""How every command ends on a known failure: one line on stderr and an exit code scripts can trust."""

import argparse
import functools
import sys
from collections.abc import Callable

from canary.local.client import ApiError, NotRunning
from canary.local.settings import StackSettings

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_NOT_RUNNING = 0, 1, 2, 3

Command = Callable[[StackSettings, argparse.Namespace], int]
"""A command: the CANARY_* settings and the parsed flags in, the exit code out."""


def one_line_errors(label: Callable[[argparse.Namespace], str]) -> Callable[[Command], Command]:
    """Decorate a command: NotRunning exits 3, an API error or a bad value exits 1, each as one line."""

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def run(settings: StackSettings, args: argparse.Namespace) -> int:
            try:
                return command(settings, args)
            except NotRunning as exc:
                print(exc, file=sys.stderr)
                return EXIT_NOT_RUNNING
            except (ApiError, ValueError) as exc:
                print(f"canary {label(args)}: {exc}", file=sys.stderr)
                return EXIT_FAIL
        return run

    return decorate
