"""Drive ``wrk`` (Debian's package) with a JSON POST body; its figures come from its Lua ``done()`` hook.

The hook writes JSON (wrk's own counters and latency percentiles, in µs) to a file,
so nothing here parses wrk's text report.
"""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.loadgen import pinned

# A level-3 long bracket: a JSON body such as {"ndarray": [[...]]} contains "]]".
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [===[{body}]===]

done = function(summary, latency, requests)
  local e = summary.errors
  local out = io.open([===[{out}]===], "w")
  out:write(string.format(
    '{{"requests": %d, "duration_us": %d, "bytes": %d, "non_2xx": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d}}',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
  out:close()
end
"""


def require() -> str:
    """The wrk binary, or exit with how to install it."""
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is missing: 'apt-get install wrk' (Debian/Ubuntu) or your OS's package")
    return found


def summarise(report: dict) -> dict:
    """Requests per second, latency percentiles in ms and error counts from the hook's JSON."""
    seconds = report["duration_us"] / 1e6
    result = {"requests": report["requests"], "seconds": seconds, "rps": report["requests"] / seconds}
    for pct in ("50", "90", "99"):
        result[f"p{pct}_ms"] = report[f"p{pct}_us"] / 1000
    result["non_2xx"] = report["non_2xx"]
    result["socket_errors"] = sum(report[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return result


def run(url: str, body: str, *, seconds: int, connections: int, cpu: str | None = None) -> dict:
    """Closed-loop load for ``seconds`` on one thread; see ``summarise`` for what it returns."""
    if "]===]" in body:
        raise ValueError("the body contains ]===], which would end the Lua string early")
    with tempfile.TemporaryDirectory(prefix="wrk-") as tmp:
        script, out = Path(tmp) / "post.lua", Path(tmp) / "done.json"
        script.write_text(LUA.format(body=body, out=out))
        cmd = [require(), "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url]
        if cpu is not None:
            cmd = pinned(cpu, cmd)
        subprocess.run(cmd, capture_output=True, text=True, check=True)
        return summarise(json.loads(out.read_text()))
