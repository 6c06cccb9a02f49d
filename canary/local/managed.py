"""What the stack keeps of each process it started, and the one error its callers act on."""

from dataclasses import dataclass

from canary.local import procs


class StackError(Exception):
    """A failure a person can act on: the message names the process, the cause and the fix."""


@dataclass
class Managed:
    """A process the stack started, with its role and where to reach it."""

    name: str
    process: procs.Process
    role: str
    port: int
    ready_url: str
    version: str | None = None
    revision: str | None = None
    admin_url: str | None = None
    metrics_port: int | None = None
    exit_code: int | None = None
