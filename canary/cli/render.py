"""How 'canary get' and the controls print a rollout: phase, step, weights, analysis, recent events."""

import math
import time
from typing import Any


def value_text(v: object) -> str:
    """A measurement's value as 'canary get' prints it: three decimals, 'no data', 'NaN' or the text."""
    if isinstance(v, list):
        v = v[0] if v else None
    if v is None:
        return "no data"
    return "NaN" if isinstance(v, float) and math.isnan(v) else f"{v:.3f}" if isinstance(v, (int, float)) else str(v)


def render(doc: dict[str, Any]) -> str:
    """The rollout document as lines a person reads."""
    lines = [f"Phase:    {doc['phase']}" + (f" ({doc['message']})" if doc["message"] else "")
             + (f", paused: {doc['pause_reason'] or 'by request'}" if doc["paused"] or doc["pause_reason"] else "")]
    if doc["target"]:
        lines.append(f"Step:     {doc['step'] + 1 if doc['step'] < doc['steps'] else doc['steps']}/{doc['steps']}"
                     + (f" ({doc['current_step']})" if doc["current_step"] else ""))
        lines.append(f"Weights:  {doc['stable']} {100 - doc['weight']}%, {doc['target']} {doc['weight']}%"
                     + (f"; header routes {doc['header_routes']}" if doc["header_routes"] else "")
                     + (f"; mirror routes {doc['mirror_routes']} (copies to {doc['target']})"
                        if doc.get("mirror_routes") else ""))
        if doc["faults"]:
            lines.append(f"Faults:   {doc['target']}: {doc['faults']}")
    else:
        lines.append(f"Stable:   {doc['stable']} (100%)")
    if doc["time_scale"] != 1:
        lines.append(f"Time:     scaled {doc['time_scale']:g}x")
    if doc["analysis"]:
        lines.append(f"Analysis: {doc['analysis']['name']} {doc['analysis']['phase']}")
        for m in doc["analysis"]["metrics"]:
            values = " ".join(f"{value_text(x['value'])}:{x['phase'][0]}" for x in m["measurements"])
            lines.append(f"  {m['name']:<14} {m['phase']:<12} count {m['count']}, failed {m['failed']}, "
                         f"errors {m['errors']}  [{values}]")
    if doc["events"]:
        lines.append("Events:")
        lines += [f"  {time.strftime('%H:%M:%S', time.localtime(e['at']))} {e['line']}" for e in doc["events"]]
    return "\n".join(lines)
