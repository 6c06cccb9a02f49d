"""The open-loop engine: every request has an intended send time on a fixed schedule.

A slow server never lowers the offered rate: sends do not wait for responses.
Latency is measured from the intended send time (so a stall shows in the
percentiles instead of being hidden by coordinated omission); service time, from
the actual send, is kept beside it.
"""

import asyncio
import gc
import json
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from loadgen.feedback import FeedbackSender
from loadgen.payloads import PayloadPool
from loadgen.stats import CAPPED, CONNECT_ERROR, TIMEOUT, UNKNOWN, Stats
from servers.admin import VERSION_HEADER


@dataclass(frozen=True)
class Plan:
    """Where to send, with which headers, for how long, and the safety limits."""

    url: str
    headers: dict[str, str]
    duration_s: float | None
    timeout_s: float
    max_in_flight: int
    late_threshold_s: float


def parse(body: bytes):
    """The answer's JSON document, or None."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def version_of(headers, doc) -> str:
    """Which version answered: the response header, else ``model_version`` in a V2 body,
    else ``meta.tags.model_version`` in a Seldon body."""
    version = headers.get(VERSION_HEADER)
    if version:
        return version
    if not isinstance(doc, dict):
        return UNKNOWN
    if isinstance(doc.get("model_version"), str):
        return doc["model_version"]
    tags = (doc.get("meta") or {}).get("tags") or {}
    return str(tags.get("model_version", UNKNOWN))


class Runner:
    """Sends ``pool`` payloads to ``plan.url`` on ``schedule``; everything lands in ``stats``."""

    def __init__(self, plan: Plan, schedule, pool: PayloadPool, stats: Stats,
                 on_result: Callable[[str, object, float, bool], None] | None = None,
                 feedback: FeedbackSender | None = None):
        self.plan = plan
        self.feedback = feedback
        self.stats = stats
        self._schedule = schedule
        self._pool = pool
        self._on_result = on_result
        self._in_flight: set[asyncio.Task] = set()
        self.started = 0.0
        self.elapsed_s = 0.0
        self.feedback_unsent = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Send on schedule until the plan ends or stop is set; True when interrupted."""
        loop = asyncio.get_running_loop()
        connector = aiohttp.TCPConnector(limit=self.plan.max_in_flight, force_close=False)
        timeout = aiohttp.ClientTimeout(total=self.plan.timeout_s)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=self.plan.headers) as session:
            # A full collection over the start-up heap (scikit-learn, aiohttp) stalls
            # the loop for ~50 ms: collect once now and freeze what exists.
            gc.collect()
            gc.freeze()
            self.started = loop.time()
            await self._send_all(session, loop, stop)
            end_of_schedule = loop.time()
            if self._in_flight:  # let in-flight requests finish, within their timeout
                await asyncio.wait(self._in_flight, timeout=self.plan.timeout_s + 1)
            self.elapsed_s = end_of_schedule - self.started
            if self.feedback:  # labels still due are sent unless the run was interrupted
                self.feedback_unsent = await self.feedback.finish(None if stop.is_set() else self.plan.timeout_s)

    async def _send_all(self, session, loop, stop: asyncio.Event) -> None:
        duration = self.plan.duration_s
        for offset in self._schedule:
            if duration is not None and offset >= duration:
                break
            intended = self.started + offset
            delay = intended - loop.time()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except TimeoutError:
                    pass
            if stop.is_set():
                break
            self._launch(session, loop, intended)
        if duration is not None and not stop.is_set():
            # The schedule ended early (a finite shape): hold until the duration is up.
            remaining = self.started + duration - loop.time()
            if remaining > 0:
                try:
                    await asyncio.wait_for(stop.wait(), remaining)
                except TimeoutError:
                    pass

    def _launch(self, session, loop, intended: float) -> None:
        stats = self.stats
        stats.scheduled += 1
        now = loop.time()
        stats.count_send(int(now - self.started))
        lag = now - intended
        if lag > self.plan.late_threshold_s:
            stats.late_sends += 1
        stats.max_send_lag_ms = max(stats.max_send_lag_ms, lag * 1000)
        if len(self._in_flight) >= self.plan.max_in_flight:
            # The cap protects the machine; the request is counted as failed, not hidden.
            stats.capped += 1
            self._record(UNKNOWN, CAPPED, True, 0.0, 0.0)
            return
        task = loop.create_task(self._one(session, loop, intended))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _one(self, session, loop, intended: float) -> None:
        payload = self._pool.draw()
        if not payload.valid:
            self.stats.invalid_sent += 1
        sent = loop.time()
        version, status = UNKNOWN, CONNECT_ERROR
        try:
            async with session.post(self.plan.url, data=payload.body,
                                    headers={"Content-Type": "application/json"}) as response:
                doc = parse(await response.read())
                status = response.status
                version = version_of(response.headers, doc)
                if status == 200 and payload.truth and self.feedback:
                    self.feedback.answered(session, version, doc, payload.truth)
        except TimeoutError:
            status = TIMEOUT
        except aiohttp.ClientError:
            status = CONNECT_ERROR
        done = loop.time()
        self._record(version, status, payload.valid, done - intended, done - sent)

    def _record(self, version: str, status, valid: bool, latency_s: float, service_s: float) -> None:
        success = self.stats.record(version, status, valid, int(latency_s * 1e6), int(service_s * 1e6))
        if self._on_result:
            self._on_result(version, status, latency_s, success)
