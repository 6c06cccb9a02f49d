"""Answers of two revisions to the same request, joined on the request id: the shadow phase's evidence.

Under mirroring the gateway sends each request to stable and a copy to the canary,
both with the original ``x-request-id``. Each runtime reports (request id, answer)
to the judge; the first answer of a request waits here, bounded in number and age,
until the other revision's answer to it arrives, and the pair is counted once.

The counts are exported as Prometheus counters (``collect``), and the disagreement
test reads them back from Prometheus like every other count: summed over every judge
replica (each joins the requests whose ids hash to it, ``servers.answers``), and kept
across a restart, which is a counter reset to Prometheus, not a new analysis.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily

from canary.judge.source import DISAGREEMENTS_TOTAL, PAIRS_TOTAL, PEER_LABEL, REVISION_LABEL

MAX_WAITING = 100_000  # answers waiting for their pair, per revision: 30 minutes at 50 rps
MAX_AGE_S = 60.0  # a copy answered later than this is not joined (the canary was down, or not mirrored)
MAX_REVISIONS = 64  # revisions with answers waiting; the one that reported least recently goes first
MAX_PAIRS = 256  # (revision, revision) counts kept, as many as the judge's analyses
PAIRS_MAX_AGE_S = 3600.0  # counts that no answer has changed for an hour are forgotten


class PairCounts:
    """Joined pairs and disagreements per (revision, revision), from reported answers."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_waiting: int = MAX_WAITING,
                 max_age_s: float = MAX_AGE_S, max_revisions: int = MAX_REVISIONS, max_pairs: int = MAX_PAIRS) -> None:
        self._clock, self._max_waiting, self._max_age_s = clock, max_waiting, max_age_s
        self._max_revisions, self._max_pairs = max_revisions, max_pairs
        # revision -> {request id: (answer, reported at)}, least recently reporting first
        self._waiting: OrderedDict[str, OrderedDict[str, tuple[str, float]]] = OrderedDict()
        self._pairs: OrderedDict[tuple[str, str], list[float]] = OrderedDict()  # [pairs, disagreements, changed at]
        self._lock = threading.Lock()

    def add(self, revision: str, answers: list[tuple[str, str]]) -> int:
        """Fold in one revision's answers (request id, answer); the number of new pairs they made."""
        now, joined = self._clock(), 0
        with self._lock:
            mine = self._waiting.setdefault(revision, OrderedDict())
            self._waiting.move_to_end(revision)
            for request_id, answer in answers:
                found = self._join(revision, request_id, answer, now)
                joined += found
                if not found and request_id not in mine:
                    mine[request_id] = (answer, now)
                    if len(mine) > self._max_waiting:
                        mine.popitem(last=False)
            self._forget(now)
        return joined

    def _forget(self, now: float) -> None:
        """Bound every store by age and by size: answers too old to join, revisions that stopped reporting."""
        for revision, waiting in list(self._waiting.items()):
            while waiting and now - next(iter(waiting.values()))[1] > self._max_age_s:
                waiting.popitem(last=False)
            if not waiting:
                del self._waiting[revision]
        while len(self._waiting) > self._max_revisions:
            self._waiting.popitem(last=False)
        while self._pairs and (len(self._pairs) > self._max_pairs
                               or now - next(iter(self._pairs.values()))[2] > PAIRS_MAX_AGE_S):
            self._pairs.popitem(last=False)

    def _join(self, revision: str, request_id: str, answer: str, now: float) -> int:
        joined = 0
        for other, waiting in self._waiting.items():
            found = waiting.pop(request_id, None) if other != revision else None
            if found is not None and now - found[1] <= self._max_age_s:
                key = _sorted_pair(revision, other)
                counts = self._pairs.setdefault(key, [0, 0, now])
                counts[0] += 1
                counts[1] += found[0] != answer
                counts[2] = now
                self._pairs.move_to_end(key)
                joined += 1
        return joined

    def collect(self) -> Iterator[CounterMetricFamily]:
        """The counts as two counters, labelled by the pair's revisions in sorted order (``revision`` the
        first): a prometheus_client collector, read at every scrape."""
        labels = [REVISION_LABEL, PEER_LABEL]
        pairs = CounterMetricFamily(PAIRS_TOTAL.removesuffix("_total"), "Answers of two revisions to the same "
                                    "request, joined on its x-request-id.", labels=labels)
        disagree = CounterMetricFamily(DISAGREEMENTS_TOTAL.removesuffix("_total"), "Joined pairs whose answers "
                                       "differ.", labels=labels)
        with self._lock:
            for key, (joined, disagreements, _) in self._pairs.items():
                pairs.add_metric(list(key), joined)
                disagree.add_metric(list(key), disagreements)
        yield pairs
        yield disagree

    def counts(self, a: str, b: str) -> tuple[int, int]:
        """(disagreements, pairs) of these two revisions so far."""
        with self._lock:
            pairs, disagreements, _ = self._pairs.get(_sorted_pair(a, b), (0, 0, 0.0))
        return int(disagreements), int(pairs)


def _sorted_pair(a: str, b: str) -> tuple[str, str]:
    """The two revisions in sorted order: one key whichever reported first."""
    first, second = sorted((a, b))
    return first, second
