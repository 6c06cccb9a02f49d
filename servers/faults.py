"""The fault-injection switch, one per server, shared by every worker process.

MLServer's parallel workers are separate processes and its admin calls reach only
one of them, so the live state is a small JSON file: the admin call rewrites it
atomically and every process re-reads it when it changed. A request does not pay a
``stat`` for that: a process looks at the file at most once per ``FAULT_RECHECK_S``
(0.1 s), and the admin call answers only after that long, so once it has answered
every request in every process sees the new state.
"""

import functools
import json
import logging
import math
import multiprocessing
import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from servers.settings import FaultFields, FaultSettings

logger = logging.getLogger("ml_canary.faults")

KIND_ERROR = "error"
KIND_LATENCY = "latency"
KIND_WRONG = "wrong_prediction"


def env_name(field: str) -> str:
    """The FAULT_* variable that sets ``field`` at start."""
    return f"FAULT_{field.upper()}"


class FaultConfig(FaultFields):
    """The live fault state. Unknown fields are refused, so a typo is a 422, not a no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def from_settings(cls, settings: FaultSettings) -> "FaultConfig":
        """The start-up state from FAULT_* variables."""
        return cls(**settings.model_dump(include=set(cls.model_fields)))

    @functools.cached_property
    def active(self) -> bool:
        """Any request-path fault on? Cached: it is asked on every request."""
        return bool(self.error_ratio or self.latency_ms or self.latency_jitter_ms or self.wrong_ratio)


class _Update(BaseModel):
    model_config = ConfigDict(extra="forbid")
    if TYPE_CHECKING:  # the field is FaultUpdate's, made below; declared here for the type checker only
        clear: bool = False

    def apply(self, current: FaultConfig) -> FaultConfig:
        """The state after this change; ``clear`` resets everything first."""
        base = FaultConfig() if self.clear else current
        changes = self.model_dump(exclude={"clear"}, exclude_none=True)
        # Built anew, not model_copy: that would carry the cached ``active`` along.
        return FaultConfig(**{**base.model_dump(), **changes})

    def to_env(self) -> dict[str, str]:
        """The FAULT_* variables that start a runtime in this state (``clear`` aside)."""
        return {env_name(k): str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in self.model_dump(exclude={"clear"}, exclude_none=True).items()}


# A partial change: every field of FaultFields, optional, with the same bounds. A model made at runtime is no type
# to the type checker: it sees the class below, FaultFields' fields written out (keep the two in step).
if TYPE_CHECKING:
    class FaultUpdate(_Update):
        """A partial change to the fault state; unknown fields are refused."""

        error_ratio: float | None = None
        latency_ms: float | None = None
        latency_jitter_ms: float | None = None
        wrong_ratio: float | None = None
        unready: bool | None = None
else:
    FaultUpdate = create_model(
        "FaultUpdate", __base__=_Update, __doc__="A partial change to the fault state; unknown fields are refused.",
        clear=(bool, Field(False, description="Reset every fault before applying the rest.")),
        **{name: (info.annotation | None, FieldInfo.merge_field_infos(info, default=None))
           for name, info in FaultFields.model_fields.items()},
    )


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request."""

    fail: bool = False
    delay_s: float = 0.0
    wrong: bool = False


NO_FAULT = FaultDecision()


def roll(config: FaultConfig, rng: random.Random) -> FaultDecision:
    """Draw the faults for one request. The dice are only thrown for faults that are on."""
    if not config.active:
        return NO_FAULT
    delay_ms = config.latency_ms
    if config.latency_jitter_ms:
        delay_ms += rng.uniform(0.0, config.latency_jitter_ms)
    fail = config.error_ratio > 0 and rng.random() < config.error_ratio
    wrong = not fail and config.wrong_ratio > 0 and rng.random() < config.wrong_ratio
    return FaultDecision(fail=fail, delay_s=delay_ms / 1000.0, wrong=wrong)


def server_pid() -> int:
    """The pid of the serving process: the parent of a worker, or this process."""
    parent = multiprocessing.parent_process()
    pid = parent.pid if parent is not None else None  # a parent process's pid is always known
    return pid if pid is not None else os.getpid()


def default_state_file(model_name: str, version: str, owner: int) -> Path:
    """Where one server's processes share the fault state when FAULT_STATE_FILE is unset."""
    folder = Path(tempfile.gettempdir()) / "ml-canary"
    return folder / f"faults-{model_name}-{version}-{owner}.json"


class FaultStore:
    """The live FaultConfig in a file, cached in memory until the file changes.

    ``owner`` identifies the server (its pid); every process of one server must
    use the same value.
    """

    def __init__(self, path: Path, owner: int, recheck_s: float = 0.1, clock: Callable[[], float] = time.monotonic):
        self.path = Path(path)
        self.owner = owner
        self.recheck_s = recheck_s
        self._clock = clock
        self._next_check = -math.inf
        self._stamp: tuple[int, int] | None = None
        self._config = FaultConfig()

    @property
    def settle_s(self) -> float:
        """How long after a write every process of the server reads it: none when this process is the server."""
        return 0.0 if self.owner == os.getpid() else self.recheck_s

    def initialise(self, initial: FaultConfig) -> None:
        """Start from ``initial`` unless this same server (owner) already wrote the file.

        A worker restarted by MLServer must not undo a change made at runtime; a
        new server (another pid) must not inherit an old one.
        """
        try:
            owner = json.loads(self.path.read_text()).get("server_pid")
        except (OSError, ValueError):
            owner = None
        if owner != self.owner:
            self.write(initial)

    def read(self) -> FaultConfig:
        """The state as of at most ``recheck_s`` ago: asked on every request, it looks at the file once per period."""
        now = self._clock()
        if now < self._next_check:
            return self._config
        config = self.current()  # read before the next period is set: another thread must not skip this look
        self._next_check = now + self.recheck_s
        return config

    def current(self) -> FaultConfig:
        """The state now; one stat per call, a re-read only when the file changed."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return self._config
        # Every write is a rename, so the inode changes even when two writes
        # land within one tick of the file system's clock.
        stamp = (st.st_ino, st.st_mtime_ns)
        if stamp != self._stamp:
            try:
                state = json.loads(self.path.read_text())
                self._config = FaultConfig(**state["faults"])
                self._stamp = stamp
            except (OSError, ValueError, KeyError) as exc:
                # A half-read file keeps the last good state; the next look retries.
                logger.warning("could not read fault state %s: %s", self.path, exc)
        return self._config

    def write(self, config: FaultConfig) -> None:
        """Replace the state atomically; every process sees it within ``recheck_s``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"server_pid": self.owner, "faults": config.model_dump()})
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".faults-")
        with os.fdopen(fd, "w") as f:
            f.write(body)
        os.replace(tmp, self.path)
        self._config = config
        st = os.stat(self.path)
        self._stamp = (st.st_ino, st.st_mtime_ns)
