"""Ground truth for answers: scored here per version, and a share sent back to the version that answered, late.

Labels arrive after the answer in real life (a chargeback, a review), so each
feedback waits ``delay_s``; it goes through the gateway with the answer's version
header, which routes it to that version (k8s/base routes feedback-*, the local Envoy).
"""

import asyncio
import json
import random
from collections import Counter

import aiohttp

from servers.admin import VERSION_HEADER
from servers.feedback import FEEDBACK_PATH, SELDON_FEEDBACK_PATH


def feedback_path(protocol: str) -> str:
    """Where a protocol's runtime takes feedback, below the target's base URL."""
    return FEEDBACK_PATH if protocol == "v2" else SELDON_FEEDBACK_PATH


def answers_of(protocol: str, doc) -> list[str] | None:
    """The classes an answer gave, one per row; None when the body is not an answer."""
    try:
        if protocol == "v2":
            return [str(v) for v in doc["outputs"][0]["data"]]
        return [str(row[0]) if isinstance(row, list) else str(row) for row in doc["data"]["ndarray"]]
    except (KeyError, IndexError, TypeError):
        return None


def body(protocol: str, doc: dict, answers: list[str], truth: tuple[str, ...], version: str) -> bytes:
    """The feedback message each runtime takes: ours for MLServer, the wrapper's Feedback for Seldon."""
    if protocol == "v2":
        message = {"prediction": answers, "truth": list(truth), "model_version": version}
    else:
        message = {"response": doc, "truth": {"data": {"ndarray": [[t] for t in truth]}}}
    return json.dumps(message, separators=(",", ":")).encode()


class FeedbackSender:
    """Scores every answer against the truth, and sends ``ratio`` of them back after ``delay_s``."""

    def __init__(self, target: str, protocol: str, ratio: float, delay_s: float, rng: random.Random):
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"--feedback-ratio {ratio} is outside 0..1")
        if delay_s < 0:
            raise ValueError(f"--feedback-delay {delay_s} must not be negative")
        self.url, self.protocol = target.rstrip("/") + feedback_path(protocol), protocol
        self.ratio, self.delay_s, self._rng = ratio, delay_s, rng
        self.rows, self.correct, self.sent, self.accepted = Counter(), Counter(), Counter(), Counter()
        self.failed: Counter = Counter()
        self._pending: set[asyncio.Task] = set()

    def answered(self, session: aiohttp.ClientSession, version: str, doc, truth: tuple[str, ...]) -> None:
        """Score one 200 answer whose truth is known; maybe send its feedback later."""
        answers = answers_of(self.protocol, doc)
        if answers is None or len(answers) != len(truth):
            return
        self.rows[version] += len(truth)
        self.correct[version] += sum(a == t for a, t in zip(answers, truth, strict=True))
        if self.ratio and self._rng.random() < self.ratio:
            task = asyncio.get_running_loop().create_task(self._send(session, version, body(
                self.protocol, doc, answers, truth, version)))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _send(self, session: aiohttp.ClientSession, version: str, payload: bytes) -> None:
        await asyncio.sleep(self.delay_s)
        self.sent[version] += 1
        try:
            async with session.post(self.url, data=payload, headers={VERSION_HEADER: version,
                                                                     "Content-Type": "application/json"}) as r:
                await r.read()
                (self.accepted if r.status == 200 else self.failed)[version] += 1
        except (TimeoutError, aiohttp.ClientError):
            self.failed[version] += 1

    async def finish(self, timeout_s: float | None) -> int:
        """Wait for feedback still due (within its delay and a timeout; None: not at all); the number left unsent."""
        if self._pending and timeout_s is not None:
            await asyncio.wait(set(self._pending), timeout=self.delay_s + timeout_s)
        left = len(self._pending)
        for task in list(self._pending):
            task.cancel()
        return left

    def summary(self, version: str) -> dict:
        """This version's accuracy on the rows it answered, and its feedback counts."""
        rows = self.rows[version]
        return {"accuracy": round(self.correct[version] / rows, 6) if rows else None, "scored_rows": rows,
                "feedback": {"sent": self.sent[version], "accepted": self.accepted[version],
                             "failed": self.failed[version]}}
