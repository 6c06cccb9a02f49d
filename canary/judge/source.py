"""Raw per-revision counters from Prometheus: what each proxy calls them, and instant queries that read them."""

import ipaddress
import math
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from canary import promapi

# Set by the scrape configs: the sidecar's and runtime's target labels locally, the pod's hash on a cluster.
REVISION_LABEL = "revision"
REVISION_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"  # a pod-template-hash; nothing PromQL must escape
# The runtimes' own counters (docs/metrics.md), the same behind either proxy. Named here, not
# imported from servers/: the judge's image carries no runtime (tests check they agree).
FEEDBACK_TOTAL, PREDICTIONS_TOTAL = "mlcanary_feedback_total", "mlcanary_predictions_total"
# The judge's own joined answers (canary.judge.pairs), per pair of revisions: ``revision`` and ``peer``.
PAIRS_TOTAL, DISAGREEMENTS_TOTAL = "mlcanary_judge_pairs_total", "mlcanary_judge_pair_disagreements_total"
PEER_LABEL = "peer"
SeriesKey = tuple[str, tuple[tuple[str, str], ...]]  # one series: its metric, and its labels in sorted order


class JudgeError(Exception):
    """A request the judge cannot answer; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Source:
    """One proxy's counters: requests by response code, and the latency histogram in milliseconds."""

    requests: str
    code_label: str
    error_code: str  # a regular expression the code label matches for a 5xx
    bucket: str
    selector: str


SOURCES = {
    "envoy": Source("envoy_cluster_upstream_rq_xx", "envoy_response_code_class", "5",
                    "envoy_cluster_upstream_rq_time_bucket", ""),
    "istio": Source("istio_requests_total", "response_code", "5..",
                    "istio_request_duration_milliseconds_bucket",
                    'reporter="destination",destination_service_name="{model}"'),
}


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return True


def source_for(name: str, selector: str | None, model: str = "wine") -> Source:
    """The named source, with its selector replaced when one is set, else naming the model's Service."""
    base = SOURCES[name]
    chosen = base.selector.replace("{model}", model) if selector is None else selector
    return Source(base.requests, base.code_label, base.error_code, base.bucket, chosen)


def addresses(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, sorted (a headless Service: one per Prometheus replica)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


class PrometheusReader:
    """Instant queries; every failure is a JudgeError 502, so Argo counts it as an Error, never a pass.

    Every query goes to one address of the URL's name. An HA pair of Prometheus replicas scrapes
    the same targets at its own moments and stamps the samples with its own clock, so reading
    them in turn shows a counter stepping back (a phantom reset, counted as the whole value).
    Only when that address stops answering do the queries move to another; ``epoch`` then
    grows, and the analyses re-base their counters on the new replica (canary.judge.counters).
    """

    def __init__(self, url: str, timeout_s: float, resolve: Callable[[str, int], list[str]] = addresses) -> None:
        self.url = url.rstrip("/")
        self._url, self._resolve = httpx.URL(self.url), resolve
        self._client = promapi.PrometheusClient(timeout_s)
        self._pinned: str | None = None
        self._lock = threading.Lock()
        self.epoch = 0
        """How many times the queries moved to another replica."""

    def _base(self) -> str:
        """The URL with its name replaced by the pinned address (https and literal addresses as given)."""
        host = self._url.host
        if self._url.scheme != "http" or _is_address(host):
            return self.url
        with self._lock:
            if self._pinned is None:
                self._pinned = self._pick(avoid=None)
            return str(self._url.copy_with(host=self._pinned)).rstrip("/")

    def _pick(self, avoid: str | None) -> str:
        try:
            found = self._resolve(self._url.host, self._url.port or 80)
        except OSError as exc:
            raise JudgeError(502, f"Prometheus at {self.url}: its name does not resolve ({exc})") from None
        return next((a for a in found if a != avoid), found[0] if found else avoid or self._url.host)

    def _move(self, failed: str) -> bool:
        """Pin another address after ``failed`` stopped answering; whether there was one."""
        with self._lock:
            if self._pinned != failed:  # another query moved already
                return True
            self._pinned = self._pick(avoid=failed)
            moved = self._pinned != failed
            self.epoch += moved
            return moved

    def instant(self, query: str, at: float | None = None) -> list[tuple[dict[str, str], float]]:
        """(labels, value) of every series of an instant vector query, at ``at`` or now."""
        return [(labels, points[-1][1]) for labels, points in self._query(query, at, "vector")]

    def _ask(self, query: str, at: float | None) -> promapi.Result:
        """The query at the pinned replica; once more at another when it does not answer."""
        base = self._base()
        try:
            return self._client.query(base, query, at)
        except promapi.Unreachable:
            pinned = httpx.URL(base).host
            if base == self.url or not self._move(pinned):
                raise
            return self._client.query(self._base(), query, at)

    def _query(self, query: str, at: float | None, kind: str) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        try:
            answer = self._ask(query, at)
        except promapi.Unreachable as exc:
            raise JudgeError(502, f"Prometheus at {self.url} did not answer: {exc}") from None
        except promapi.BadAnswer as exc:
            raise JudgeError(502, f"Prometheus at {self.url}: {exc}") from None
        if answer.kind != kind:
            raise JudgeError(502, f"Prometheus answered a {answer.kind}, not a {kind}")
        return [(s["metric"], [(float(t), float(v)) for t, v in s.get("values") or [s["value"]]])
                for s in answer.result]

    def samples(self, metric: str, selector: str, revisions: tuple[str, ...], end: float,
                window_s: float) -> dict[SeriesKey, list[tuple[float, float]]]:
        """Every raw sample of every series of ``metric`` for these revisions in the ``window_s`` up to ``end``.

        A range selector in an instant query returns the samples as scraped, with their own
        timestamps: no extrapolation, and stale markers (a failed scrape) are left out.
        """
        matchers = ",".join(filter(None, [selector, f'{REVISION_LABEL}=~"{"|".join(revisions)}"']))
        query = f"{metric}{{{matchers}}}[{max(1, math.ceil(window_s * 1000))}ms]"
        return {(metric, tuple(sorted(labels.items()))): points
                for labels, points in self._query(query, end, "matrix")}

    def known(self, revision: str) -> bool:
        """Whether Prometheus scrapes any target of this revision (its runtime's ``up`` series)."""
        return bool(self.instant(f'up{{{REVISION_LABEL}="{revision}"}}'))

