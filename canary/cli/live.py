"""``canary get --watch`` on a terminal: the rollout redrawn in place, as ``kubectl argo rollouts get
rollout --watch`` draws it: phase, weights, the plan with the current step marked, the analysis, the
last events. Drawn with rich (a table and a live display are what it is for)."""

import time
from typing import Any

from rich.console import Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from canary.cli.render import value_text
from canary.local.client import ControlClient

BAR = 40  # characters of the weight bar


def _weights(doc: dict[str, Any]) -> Text:
    if not doc["target"]:
        return Text(f"{doc['stable']} 100%", style="green")
    canary = round(BAR * doc["weight"] / 100)
    text = Text("█" * (BAR - canary), style="green") + Text("▒" * canary, style="yellow")  # apart without colour
    text.append(f"  {doc['stable']} {100 - doc['weight']}%  {doc['target']} {doc['weight']}%")
    for kind in ("header_routes", "mirror_routes"):
        if doc.get(kind):
            text.append(f"  {kind.replace('_', ' ')} {', '.join(doc[kind])}")
    return text


def _plan(doc: dict[str, Any]) -> Table:
    table = Table("", "step", "", box=None, show_header=False, pad_edge=False)
    for i, what in enumerate(doc.get("plan", [])):
        done, now = i < doc["step"], i == doc["step"] and doc["target"] is not None
        mark, style = ("✔", "dim") if done or doc["phase"] == "Healthy" else ("▶", "bold") if now else (" ", "")
        if now and doc["phase"] == "Degraded":
            mark, style = "✖", "bold red"
        table.add_row(mark, f"{i + 1}/{len(doc['plan'])}", what, style=style)
    return table


def _analysis(doc: dict[str, Any]) -> Table:
    run = doc["analysis"]
    table = Table("metric", "phase", "count", "failed", "errors", "last",
                  title=f"analysis {run['name']}: {run['phase']}", title_justify="left", box=None)
    for m in run["metrics"]:
        last = m["measurements"][-1] if m["measurements"] else {}
        table.add_row(m["name"], m["phase"], str(m["count"]), str(m["failed"]), str(m["errors"]),
                      value_text(last["value"])[:60] if last else "")
    return table


def view(doc: dict[str, Any]) -> Group:
    """One frame: what a person watching the rollout wants at a glance."""
    phase = {"Healthy": "green", "Degraded": "red", "Paused": "yellow"}.get(doc["phase"], "cyan")
    head = Text(f"Rollout {doc.get('name', '')}  ", style="bold") + Text(doc["phase"], style=f"bold {phase}")
    if doc["message"]:
        head.append(f"  {doc['message']}")
    parts: list[RenderableType] = [head, _weights(doc), _plan(doc)]
    if doc["analysis"]:
        parts.append(_analysis(doc))
    events = [f"{time.strftime('%H:%M:%S', time.localtime(e['at']))} {e['line']}" for e in reversed(doc["events"])]
    parts.append(Text("events, newest first\n", style="bold") + Text("\n".join(line[:160] for line in events)))
    return Group(*parts)


def watch(client: ControlClient, interval_s: float = 1.0) -> None:
    """Redraw the rollout every ``interval_s`` until Ctrl-C."""
    with Live(view(client.get(events=8)), auto_refresh=False, screen=False) as live:
        while True:
            time.sleep(interval_s)
            live.update(view(client.get(events=8)), refresh=True)
