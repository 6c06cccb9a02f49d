"""Drive ``wrk`` (Debian's package) with a JSON POST body and parse its report."""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

# A level-3 long bracket: a JSON body such as {"ndarray": [[...]]} contains "]]".
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [===[{body}]===]
"""
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def require() -> str:
    """The wrk binary, or exit with how to install it."""
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is missing: 'apt-get install wrk' (Debian/Ubuntu) or your OS's package")
    return found


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * _UNITS[unit]


def run(url: str, body: str, *, seconds: int, connections: int, cpu: str | None = None) -> dict:
    """Closed-loop load for ``seconds``; returns rps and latency percentiles in ms."""
    if "]===]" in body:
        raise ValueError("the body contains ]===], which would end the Lua string early")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.format(body=body))
    cmd = [require(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, url]
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", cpu, *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "90", "99"):
        result[f"p{pct}_ms"] = _ms(re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    return result
