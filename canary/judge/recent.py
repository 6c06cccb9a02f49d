"""One Prometheus query per counter for every analysis at once: the recent samples, shared.

Each analysis reads its new samples every cell. Fifty analyses asked four times a second
meant a hundred small queries a second, and the judge's answers queued behind them (the
HTTP client's pool, Prometheus' own query overhead). Here the recent window of a counter
is read once for every revision asked about lately and kept for a moment: an analysis's
read is cut out of it when the shared read is fresh enough to hold everything its own
query would have returned, and goes to Prometheus alone otherwise (its first read, with
history; a revision not in the shared read; a window longer than the shared one).

What a cut returns is what the analysis's own query returned, up to ingestion: its own
query at ``end`` would also see samples up to ``end`` that Prometheus stored after the
shared read. Such a sample is a scrape that took longer than ``settle_s / 2`` to store;
the counts take it as a late sample (counted in the first open cell, never lost).
"""

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeGuard

from canary.judge.counters import Samples
from canary.judge.source import REVISION_LABEL, JudgeError, PrometheusReader, SeriesKey


@dataclass(frozen=True)
class _Read:
    """One shared read: taken at ``at`` over ``window_s``, for ``revisions``, its series per revision."""

    at: float
    window_s: float
    revisions: frozenset[str]
    by_revision: dict[str, Samples[SeriesKey]]
    epoch: int = 0  # the Prometheus replica it was read from (PrometheusReader.epoch)


class RecentSamples:
    """A reader that serves short reads of recent samples from one shared query per counter."""

    def __init__(self, reader: PrometheusReader, settle_s: float, cell_s: float, clock: Callable[[], float] = time.time,
                 spawn: Callable[[Callable[[], None]], None] | None = None) -> None:
        self.reader, self.clock = reader, clock
        # How a renewal runs beside the questions (a thread; the tests run it in line, to replay exactly).
        self.spawn = spawn or (lambda work: threading.Thread(target=work, daemon=True).start())
        # A shared read serves a question whose horizon (now - settle_s) is at least this far behind it: the
        # scrapes up to the horizon had that long to be stored before the read.
        self.margin_s = settle_s / 2
        # Renewed in the background once this old, so that no question waits for it while it still serves.
        self.refresh_s = self.margin_s / 3
        # An analysis reads back past its last read by settle_s + cell_s (canary.judge.analysis), a cell
        # after that read; the margin and the refresh are the read's own age.
        self.window_s = 2 * (settle_s + cell_s) + self.margin_s + self.refresh_s
        self.late_s = settle_s  # a scrape is stored within this long of its timestamp (JUDGE_SETTLE_S)
        self.forget_s = 60.0  # a revision nobody asked about for this long leaves the shared read
        self._asked: dict[str, float] = {}
        self._reads: dict[tuple[str, str], _Read] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()
        self.queries = 0

    def samples(self, metric: str, selector: str, revisions: tuple[str, ...], end: float,
                window_s: float) -> Samples[SeriesKey]:
        """What ``PrometheusReader.samples`` answers, cut from the shared read when it holds it."""
        now, key = self.clock(), (metric, selector)
        with self._lock:
            self._asked.update(dict.fromkeys(revisions, now))
            lock = self._locks.setdefault(key, threading.Lock())
        if self.margin_s <= 0 or end + self.margin_s > now or now - self.window_s > end - window_s:
            return self.reader.samples(metric, selector, revisions, end, window_s)  # no shared read could hold it
        read = self._reads.get(key)
        if self._holds(read, revisions, end, window_s):
            if now - read.at > self.refresh_s:
                self._renew(key, lock)
        elif read is not None and self._holds(read, read.revisions, end, window_s):
            # Fresh and long enough, without these revisions (a new analysis): asked alone, not behind a read
            # of them all.
            self._renew(key, lock)
            return self.reader.samples(metric, selector, revisions, end, window_s)
        else:
            with lock:  # one thread reads, the others asking the same counter wait for it
                read = self._reads.get(key)
                if not self._holds(read, revisions, end, window_s):
                    read = self._refresh(key)
            if not self._holds(read, revisions, end, window_s):
                return self.reader.samples(metric, selector, revisions, end, window_s)
        start = end - window_s
        return {k: kept for rev in revisions for k, points in read.by_revision.get(rev, {}).items()
                if (kept := [p for p in points if start < p[0] <= end])}

    def known(self, revision: str) -> bool:
        """Whether Prometheus scrapes any target of this revision (never cached)."""
        return self.reader.known(revision)

    @property
    def epoch(self) -> int:
        """The replica the reads come from: a shared read from an earlier one serves nobody."""
        return self.reader.epoch

    def _holds(self, read: _Read | None, revisions: Iterable[str], end: float, window_s: float) -> TypeGuard[_Read]:
        return (read is not None and read.at >= end + self.margin_s and read.at - read.window_s <= end - window_s
                and read.revisions.issuperset(revisions) and read.epoch == self.reader.epoch)

    def _renew(self, key: tuple[str, str], lock: threading.Lock) -> None:
        """A new shared read in the background, unless one is under way."""
        if lock.acquire(blocking=False):
            try:
                self.spawn(lambda: self._refresh_in_background(key, lock))
            except RuntimeError:  # no thread to be had: the next question that needs a newer read renews it in line
                lock.release()

    def _refresh_in_background(self, key: tuple[str, str], lock: threading.Lock) -> None:
        try:
            self._refresh(key)
        except JudgeError:
            pass  # the next question that needs a newer read asks Prometheus itself, and reports its error
        finally:
            lock.release()

    def _refresh(self, key: tuple[str, str]) -> _Read:
        """A new shared read. When the last one holds every revision wanted, only what came since it is read
        (reaching back by the settling time, for scrapes stored late) and added to what it holds."""
        now = self.clock()
        with self._lock:
            for rev in [r for r, at in self._asked.items() if now - at > self.forget_s]:
                del self._asked[rev]
            revisions = frozenset(self._asked)
        last, epoch = self._reads.get(key), self.reader.epoch
        grow = (last is not None and last.revisions >= revisions and now - last.at + self.late_s < self.window_s
                and last.epoch == epoch)
        window = now - last.at + self.late_s if grow and last is not None else self.window_s
        samples = self.reader.samples(*key, tuple(sorted(revisions)), now, window)
        self.queries += 1
        by_revision: dict[str, Samples[SeriesKey]] = {}
        for series, points in samples.items():
            by_revision.setdefault(dict(series[1]).get(REVISION_LABEL, ""), {})[series] = points
        # A revision not asked about lately leaves the read: its samples are no longer renewed.
        if grow and last is not None:
            by_revision = _merged({r: last.by_revision.get(r, {}) for r in revisions}, by_revision,
                                  now - self.window_s)
        self._reads[key] = read = _Read(now, self.window_s, revisions, by_revision, epoch)
        return read


def _merged(old: dict[str, Samples[SeriesKey]], new: dict[str, Samples[SeriesKey]],
            since: float) -> dict[str, Samples[SeriesKey]]:
    """Each series' samples after ``since``: the old ones, then the new ones after the last old one (a series'
    samples are stored in time order, so a sample newer than the last one seen is one not seen)."""
    out: dict[str, Samples[SeriesKey]] = {}
    for rev in old.keys() | new.keys():
        series_old, series_new = old.get(rev, {}), new.get(rev, {})
        merged = {}
        for series in series_old.keys() | series_new.keys():
            kept = [p for p in series_old.get(series, ()) if p[0] > since]
            last = kept[-1][0] if kept else since
            kept += [p for p in series_new.get(series, ()) if p[0] > last]
            if kept:
                merged[series] = kept
        out[rev] = merged
    return out
