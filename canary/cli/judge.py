"""``canary judge``: what the judge last said about the running rollout: each test, its counts,
e-value and confidence sequences, read without asking it anything new."""

import argparse
import dataclasses
import json
import sys
import time
from typing import Any

import httpx

from canary import jaeger
from canary.cli.errors import EXIT_FAIL, EXIT_OK, one_line_errors
from canary.local.client import StackClient
from canary.local.envoy import cluster_name
from canary.local.settings import StackSettings

_HEADER = ("TEST", "VERDICT", "E-VALUE", "NEEDS", "CANARY", "STABLE", "RATE RATIO (CS)", "DIFFERENCE (CS)")


def _rate(side: dict[str, Any]) -> str:
    if "shares" in side:  # the class mix: each class's share of the predictions
        return f"{side['events']} " + "/".join(f"{v:.2f}" for v in side["shares"].values())
    rate = "-" if side["rate"] is None else f"{side['rate']:.2%}"
    return f"{side['events']}/{side['requests']} {rate}"


def _interval(lower: float | None, upper: float | None, fmt: str) -> str:
    low = "0" if lower is None else format(lower, fmt)
    high = "inf" if upper is None else format(upper, fmt)
    return f"[{low}, {high}]"


def table(doc: dict[str, Any], mirrored: bool = False) -> list[str]:
    """One analysis as aligned rows a person reads; ``mirrored``: asked in the shadow phase, on copies."""
    rows = [_HEADER] + [(t["name"], t["verdict"], f"{t['e_value']:.3g}", f"{t['threshold']:.3g}", _rate(t["canary"]),
                         _rate(t["stable"]), _interval(t["ratio"]["lower"], t["ratio"]["upper"], ".3g"),
                         _interval(t["difference"]["lower"], t["difference"]["upper"], "+.4f")) for t in doc["tests"]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADER))]
    where = ("in the shadow phase, on copies (each side sees every request)" if mirrored
             else f"at weight {doc['weight']:g}")
    head = (f"canary {doc['canary']} against stable {doc['stable']} {where}: {doc['decision']} "
            f"({doc['seconds']:.0f} s of evidence, alpha {doc['alpha']:g}; slow = {_bound(doc)}; "
            f"asked {time.time() - doc['at']:.0f} s ago)")
    return [head] + ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _bound(doc: dict[str, Any]) -> str:
    if doc["latency_bound_ms"] is None:
        return "not set yet (stable has answered too few requests for its p99)"
    raised = doc.get("latency_bound_raised") or {"cells": 0}  # a judge from before it answers without it
    busier = (f"; {raised['up_to_ms']:g} ms in {raised['cells']} cells where stable's last "
              "JUDGE_LATENCY_RECENT_S were slower") if raised["cells"] else ""
    return f"over {doc['latency_bound_ms']:g} ms, {doc['latency_bound_origin']}{busier}"


@one_line_errors(lambda args: "judge")
def judge(settings: StackSettings, args: argparse.Namespace) -> int:
    """Print the judge's last answer for the stack's canary and stable revisions."""
    status = StackClient(settings.run_dir).status()
    if not status["canary_revision"]:
        print("canary judge: no canary runs; start one with 'canary rollout VERSION'", file=sys.stderr)
        return EXIT_FAIL
    try:
        docs = httpx.get(f"{status['judge']}/v1/analyses", timeout=5,
                         params={"canary": status["canary_revision"], "stable": status["stable_revision"]}).json()
    except httpx.HTTPError as exc:
        print(f"canary judge: the judge at {status['judge']} did not answer ({type(exc).__name__}); "
              "see 'canary logs judge'", file=sys.stderr)
        return EXIT_FAIL
    if not docs["analyses"]:
        print(f"canary judge: the judge has not been asked about {status['canary']} ({status['canary_revision']}) "
              "yet; it is, once the rollout reaches an analysis step", file=sys.stderr)
        return EXIT_FAIL
    # The last answer per question (the HTTP tests first, then the model-quality tests).
    latest: dict[tuple[str, ...], dict[str, Any]] = {}
    for doc in docs["analyses"]:
        latest.setdefault(tuple(t["name"] for t in doc["tests"]), doc)
    shown = sorted(latest.values(), key=lambda d: d["tests"][0]["name"] not in ("errors", "latency"))
    for doc in shown:
        if slow := slow_trace(status, doc):
            doc["slow_trace"] = slow
    print(json.dumps(shown, indent=2) if args.json
          else "\n\n".join("\n".join(table(doc, mirrored=bool(status["mirror_routes"])) + _slow_line(doc))
                           for doc in shown))
    return EXIT_OK


def slow_trace(status: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any] | None:
    """When the latency test failed: the canary's slowest traced answer over the bound in the analysis' window
    (Jaeger's, through the canary's sidecar span), or why there is none to show."""
    if not any(t["name"] == "latency" and t["verdict"] == "fail" for t in doc["tests"]):
        return None
    if not status.get("traces"):
        return {"off": status.get("tracing_off") or "tracing is off"}
    window_s = max(int(time.time() - doc["at"] + doc["seconds"]) + 5, 10)
    try:
        found = jaeger.slowest(status["traces"], cluster_name(status["canary"], status["model"]), limit=1,
                               lookback_s=window_s, min_ms=doc["latency_bound_ms"] or 0.0)
    except jaeger.Unavailable as exc:
        return {"off": str(exc)}
    return dataclasses.asdict(found[0]) if found \
        else {"off": "Jaeger holds no traced canary answer over the bound in the analysis' window"}


def _slow_line(doc: dict[str, Any]) -> list[str]:
    slow = doc.get("slow_trace")
    if slow is None:
        return []
    if "url" in slow:
        return [f"  slowest canary answer: {slow['duration_ms']:.1f} ms, trace {slow['trace_id']} (the dashboard draws "
                f"it at /trace/{slow['trace_id']}; Jaeger's API: {slow['url']})"]
    return [f"  no trace of a slow canary answer: {slow['off']}"]
