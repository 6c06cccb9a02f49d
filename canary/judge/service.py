"""The judge's HTTP API: ``GET /v1/judge`` for Argo's web metric provider, the local controller and people.

Every answer is JSON. A question the judge cannot answer is an error status with
``{"error": ...}``, which Argo counts as an Error measurement: never a pass.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import BaseModel, ConfigDict, Field

from canary.judge.analysis import ALL_TESTS, TESTS, Analysis, Key, Question
from canary.judge.pairs import PairCounts
from canary.judge.recent import RecentSamples
from canary.judge.settings import JudgeSettings
from canary.judge.source import REVISION_PATTERN, JudgeError, PrometheusReader, source_for
from canary.origin import hosts_for
from canary.webapi import create_app, serve_metrics, token_check

DECISIONS = "mlcanary_judge_decisions"
DURATION = "mlcanary_judge_request_duration_seconds"


class Answers(BaseModel):
    """One revision's answers, as its runtime reports them: (request id, answer) pairs."""

    model_config = ConfigDict(extra="forbid")
    revision: str = Field(pattern=REVISION_PATTERN)
    answers: list[tuple[str, str]] = Field(max_length=10_000)


class Analyses:
    """The analyses in memory: an idle one is forgotten, a running one never makes room for a new question."""

    def __init__(self, settings: JudgeSettings) -> None:
        self.settings, self.source = settings, source_for(settings.source, settings.selector, settings.model)
        self.pairs = PairCounts()
        self._items: OrderedDict[Key, Analysis] = OrderedDict()
        self._lock = threading.Lock()

    def last(self, canary: str | None, stable: str | None) -> list[dict[str, Any]]:
        """The last answer of every analysis (of these revisions), the most recently asked first."""
        with self._lock:
            items = list(reversed(self._items.values()))
        return [{**doc, "trace": list(a.traces[tests])} for a in items for tests, doc in a.last.items()
                if (canary in (None, a.q.canary)) and (stable in (None, a.q.stable))]

    def get(self, question: Question, now: float,
            reader: PrometheusReader | RecentSamples | None = None) -> Analysis:
        """The analysis for this question, new at its first call and at a retry of a failed one.

        Argo's retry and ``canary retry`` ask about the same revisions again, and nothing in the
        question tells the attempts apart (a template can pass only its args); Argo stops asking
        once a run fails, so a failed analysis asked again after a pause is a new attempt. A
        question the judge has never seen (its first, or its first since the judge restarted)
        starts where the canary's counters were born, within JUDGE_HISTORY_S: a restarted judge
        rebuilds the analysis from Prometheus instead of starting over with a fresh alpha.
        """
        key = question.key()
        with self._lock:
            found = self._items.get(key)
            if found is not None and not (found.failed and now - found.asked_at > self.settings.retry_gap_s):
                self._items.move_to_end(key)
                return found
            self._make_room(key, now)  # before asking Prometheus anything for a question that cannot be taken
        # Prometheus is asked outside the lock: a first question must not hold up every other analysis's.
        new = found is None and question.since is None and reader is not None
        born = self._born(reader, question.canary, now) if new and reader is not None else None
        with self._lock:
            current = self._items.get(key)
            if current is not None and current is not found:  # another question of this rollout started it
                self._items.move_to_end(key)
                return current
            self._make_room(key, now)
            analysis = self._items[key] = Analysis(question, self.settings, self.source, now, born)
            self._items.move_to_end(key)
            return analysis

    def _make_room(self, key: Key, now: float) -> None:
        """Forget idle analyses (least recently asked first), then one that never saw a canary request in
        its grace; a 503 when only running ones are left.

        Anyone on the judge's network may ask (Argo's web provider sends no credentials), so a
        flood of made-up questions must not push out an analysis a rollout still asks about; such
        questions hold their slots at most the no-traffic grace once the judge is full.
        """
        self._items.pop(key, None)  # a failed analysis asked again after its retry gap: replaced
        idle = self.settings.idle_s
        while self._items and now - next(iter(self._items.values())).asked_at > idle:
            self._items.popitem(last=False)
        barren = next((k for k, a in self._items.items() if a.barren(now)), None)  # made-up revisions, say
        if len(self._items) >= self.settings.max_analyses and barren is not None:
            del self._items[barren]
        if len(self._items) >= self.settings.max_analyses:
            raise JudgeError(503, f"the judge holds {len(self._items)} running analyses (JUDGE_MAX_ANALYSES); "
                                  f"the least recently asked is forgotten {idle:g}s after its last question "
                                  "(JUDGE_IDLE_S)")

    def _born(self, reader: PrometheusReader | RecentSamples, canary: str, now: float) -> float | None:
        """When the canary revision's request counters were born, if within the history window (a series
        already there at its start is older than the analysis can know: the question's time stands)."""
        window = self.settings.history_s
        try:
            seen = reader.samples(self.source.requests, self.source.selector, (canary,), now, window)
        except JudgeError:  # a question that needs Prometheus says so itself; the disagreement test does not
            return None
        born = min((points[0][0] for points in seen.values()), default=None)
        return born if born is not None and born > now - window + 2 * self.settings.cell_s else None


def _question(canary: str, stable: str, weight: float, tests: str, since: float | None,
              latency_ms: float | None, grace_s: float | None, now: float, settings: JudgeSettings) -> Question:
    names = tuple(dict.fromkeys(t.strip() for t in tests.split(",") if t.strip()))
    unknown = [t for t in names if t not in ALL_TESTS]
    if unknown or not names:
        raise HTTPException(422, f"bad request: tests: {', '.join(unknown) or 'none given'}; "
                                 f"choose from {', '.join(ALL_TESTS)}")
    if canary == stable:
        raise HTTPException(422, f"bad request: canary and stable are the same revision ({canary})")
    if since is not None and since < now - settings.since_max_age_s:
        # An analysis is rebuilt cell by cell from its start: decades of empty cells would hold a worker for hours.
        raise HTTPException(422, f"bad request: since {since:.0f} is more than JUDGE_SINCE_MAX_AGE_S "
                                 f"({settings.since_max_age_s:g} s) ago")
    return Question(canary, stable, weight, names, since, latency_ms, grace_s)


def _answers_check(settings: JudgeSettings) -> Callable[[str], None]:
    """Who may report answers: the runtimes, with the token (any other process could skew the shadow tests).
    The token is read at every report: a Secret mounted late, or rotated, takes effect without a restart."""

    def check(authorization: str = Header(default="")) -> None:
        """Refuse a report without the token: 403 while answers are off, 401 with a wrong one."""
        token = settings.resolved_answers_token()
        if not token:
            raise HTTPException(403, "answers are off: the judge has no JUDGE_ANSWERS_TOKEN (or _FILE) "
                                     "to check them by")
        token_check(token, "the runtimes send ANSWERS_TOKEN, the same as the judge's "
                           "JUDGE_ANSWERS_TOKEN")(authorization)

    return check


def _own_metrics(pairs: PairCounts) -> tuple[CollectorRegistry, Counter, Histogram]:
    registry = CollectorRegistry()
    registry.register(pairs)  # the joined answers, which the disagreement test reads back from Prometheus
    decisions = Counter(DECISIONS, "Judge answers, by decision (fail, pass, continue, error).", ["decision"],
                        registry=registry)
    duration = Histogram(DURATION, "Time to answer GET /v1/judge.", registry=registry,
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
    return registry, decisions, duration


def _reader(settings: JudgeSettings, clock: Callable[[], float]) -> RecentSamples:
    """Prometheus, with the recent samples of every analysis read once for all (canary.judge.recent)."""
    prometheus = PrometheusReader(settings.prometheus_url, settings.query_timeout_s)
    return RecentSamples(prometheus, settings.settle_s, settings.cell_s, clock)


def create(settings: JudgeSettings, clock: Callable[[], float] = time.time) -> FastAPI:
    """The app; its Prometheus metrics on /metrics, liveness on /healthz."""
    app = create_app("ml-canary judge", hosts_for(settings.host))
    analyses, reader = Analyses(settings), _reader(settings, clock)
    registry, decisions, duration = _own_metrics(analyses.pairs)

    @app.get("/v1/judge")
    def judge(canary: str = Query(pattern=REVISION_PATTERN), stable: str = Query(pattern=REVISION_PATTERN),
              weight: float = Query(ge=0, le=100), tests: str = ",".join(TESTS),
              since: float | None = Query(None, ge=0), latency_ms: float | None = Query(None, gt=0),
              grace_s: float | None = Query(None, ge=0, le=3600)) -> Response:
        with duration.time():
            question = _question(canary, stable, weight, tests, since, latency_ms, grace_s, now := clock(), settings)
            try:
                doc = analyses.get(question, now, reader).answer(reader, question, now)
            except JudgeError as exc:
                decisions.labels("error").inc()
                raise HTTPException(exc.status, str(exc)) from None
            # Serialised here: FastAPI's own encoder took 0.2 ms of an answer asked several times a second.
            body = orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
            decisions.labels(doc["decision"]).inc()  # counted once it can be answered
            return Response(body, media_type="application/json")

    @app.post("/v1/answers", dependencies=[Depends(_answers_check(settings))])
    def answers(report: Answers) -> dict[str, Any]:
        """A runtime's answers under mirroring, joined with the other revision's on the request id."""
        return {"joined": analyses.pairs.add(report.revision, report.answers)}

    @app.get("/v1/analyses")
    def last(canary: str | None = Query(None, pattern=REVISION_PATTERN),
             stable: str | None = Query(None, pattern=REVISION_PATTERN)) -> dict[str, Any]:
        """What the judge last answered per analysis, without asking anything new (for people)."""
        return {"analyses": analyses.last(canary, stable)}

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    serve_metrics(app, registry)
    return app
