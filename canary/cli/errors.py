"""How every command ends on a known failure: one line on stderr and an exit code scripts can trust."""

import functools
import sys

from canary.local.client import ApiError, NotRunning

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_NOT_RUNNING = 0, 1, 2, 3


def one_line_errors(label):
    """Decorate a command: NotRunning exits 3, an API error or a bad value exits 1, each as one line."""

    def decorate(command):
        @functools.wraps(command)
        def run(settings, args) -> int:
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
