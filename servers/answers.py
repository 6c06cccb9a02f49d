"""Each answer's request id and classes, reported to the judge in batches: how a shadow phase compares versions.

Under mirroring the gateway sends stable a request and the canary a copy with the
same ``x-request-id``; neither sees the other's answer, so each reports its own and
the judge joins them (``canary.judge.pairs``). Off unless ``ANSWERS_URL`` is set.
With ``ANSWERS_SHARDS`` judge replicas, each answer goes to the replica its request id
hashes to (``{shard}`` in the URL, a StatefulSet's ordinal): both revisions' answers to a
request meet at the same one, whichever runtime reports first.
A background thread posts every ``ANSWERS_FLUSH_S``; answers beyond
``ANSWERS_MAX_PENDING`` (a judge that is down) are dropped and counted, never block
an inference. Standard library HTTP: the Seldon venv and the MLServer venv share it.
"""

import json
import logging
import threading
import time
import urllib.request
import zlib
from collections import deque
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REQUEST_ID_HEADER = "x-request-id"
logger = logging.getLogger("ml_canary.answers")


class AnswerSettings(BaseSettings):
    """Where answers are reported, as which revision, how often."""

    model_config = SettingsConfigDict(env_prefix="ANSWERS_", extra="ignore")

    url: str = ""
    """The judge's POST /v1/answers; empty: answers are not reported. ``{shard}`` in it: the replica's number."""
    shards: int = Field(1, ge=1, le=64)
    """Judge replicas that share the answers, each the requests whose ids hash to it (``{shard}``: 0 to shards-1)."""
    revision: str = ""
    """This runtime's revision (the pod-template hash), as the judge's questions name it."""
    token: str = ""
    """The judge's JUDGE_ANSWERS_TOKEN, sent as a Bearer token."""
    token_file: str = ""
    """Read the token from this file instead (a mounted Secret)."""
    flush_s: float = 0.25
    """How often a batch is posted."""
    max_pending: int = 10_000
    """Answers kept while the judge does not take them; older ones are dropped."""

    @model_validator(mode="after")
    def _shards_named(self) -> "AnswerSettings":
        if self.url and (self.shards > 1) != ("{shard}" in self.url):
            raise ValueError(f"ANSWERS_URL {self.url!r} and ANSWERS_SHARDS {self.shards}: a URL with {{shard}} "
                             "names one of several judge replicas, and only such a URL may be sharded")
        return self

    def url_of(self, request_id: str) -> str:
        """The judge replica that joins this request's answers: the same for every revision's runtime."""
        return self.url.replace("{shard}", str(zlib.crc32(request_id.encode()) % self.shards))


class AnswerReporter:
    """Collects (request id, answer) and posts them from a daemon thread."""

    def __init__(self, settings: AnswerSettings):
        self.settings = settings
        self._pending: deque = deque(maxlen=settings.max_pending)
        self._lock = threading.Lock()
        self.dropped = 0
        self._thread: threading.Thread | None = None
        # Asked on every inference: an attribute, not a property over the settings.
        self.enabled = bool(settings.url and settings.revision)
        """Whether answers are reported at all."""

    def record(self, request_id: str | None, labels: list[str]) -> None:
        """One answered request; nothing without a request id or a judge to report to."""
        if not request_id or not self.enabled:
            return
        with self._lock:
            self.dropped += len(self._pending) == self._pending.maxlen
            self._pending.append((request_id, ",".join(labels)))
            if self._thread is None:  # started here, not at load: MLServer forks its workers after loading
                self._thread = threading.Thread(target=self._run, name="answers", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.settings.flush_s)
            with self._lock:
                batch = list(self._pending)
                self._pending.clear()
            by_judge: dict[str, list] = {}
            for answer in batch:
                by_judge.setdefault(self.settings.url_of(answer[0]), []).append(answer)
            for url, answers in by_judge.items():
                self._post(url, answers)

    def _token(self) -> str:
        """The token, read from its file at every post: a Secret mounted late or rotated is picked up."""
        try:
            return Path(self.settings.token_file).read_text().strip() if self.settings.token_file else self.settings.token
        except OSError:  # not mounted (yet): the judge refuses the batch, and the warning below says so
            return ""

    def _post(self, url: str, batch: list[tuple[str, str]]) -> None:
        body = json.dumps({"revision": self.settings.revision, "answers": batch}).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json",
                                                     "Authorization": f"Bearer {self._token()}"})
        try:
            with urllib.request.urlopen(request, timeout=5):
                pass
        except OSError as exc:  # the judge away: these answers are lost to the shadow test, not to users
            self.dropped += len(batch)
            logger.warning("could not report %d answers to %s: %s", len(batch), url, exc)
