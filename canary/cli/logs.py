"""The daemons' log lines (``canary up``, ``canary controller``): through ``logging``, with levels.

A person reads ``HH:MM:SS line`` as before (``warning:`` before a warning); with
``CANARY_LOG_FORMAT=json`` each line is one JSON object, the runtimes' format
(``servers.logjson``), for Fluent Bit or Fluentd to parse without regexes. A command's own
answer (a table, a JSON document, a one-line error) stays a ``print``: it is the command's output.
"""

import logging
import sys
import time
from typing import TextIO

from servers.logjson import JsonFormatter

FORMATS = ("plain", "json")


class PlainFormatter(logging.Formatter):
    """``HH:MM:SS message``; a warning or worse says its level first."""

    def format(self, record: logging.LogRecord) -> str:
        """One line for a person."""
        level = f"{record.levelname.lower()}: " if record.levelno >= logging.WARNING else ""
        line = f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {level}{record.getMessage()}"
        return line + ("\n" + self.formatException(record.exc_info) if record.exc_info else "")


def setup(log_format: str = "plain", stream: TextIO | None = None) -> None:
    """Send the ``canary`` loggers' lines to ``stream`` (stdout, flushed per line) in ``log_format``."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter() if log_format == "json" else PlainFormatter())
    root = logging.getLogger("canary")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
