"""Load a server with wrk (one thread, keep-alive, on 127.0.0.1) and sample its process tree meanwhile.

wrk is C and sends a request in a few microseconds, so the server, not the load generator, is what
is measured even near the 16,000 req/s of a no-op Starlette app (the project's own Python loadgen
saturates first). Install it with `apt-get install wrk` (`make bench-setup`). Returns the keys
`tests.loadgen` returns, so the report reads both.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

# The body comes from a file; done() prints wrk's own summary as one JSON line (latencies in µs).
SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("{body}", "rb")); wrk.body = f:read("*a"); f:close()
done = function(s, latency, requests)
  io.write(string.format('WRK {{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d}}\\n', s.requests, s.duration,
    s.errors.connect, s.errors.read, s.errors.write, s.errors.status, s.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def require() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("bench: wrk is not installed: run `make bench-setup` (apt-get install wrk)")
    return found


def tree(pid: int) -> list[int]:
    """The process and all its descendants, from /proc (BentoML's workers run in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def usage(pid: int) -> tuple[float, float]:
    """Resident MiB and CPU seconds so far of the process tree."""
    rss = cpu = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            rss += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue  # it exited meanwhile
        cpu += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return rss / 2**20, cpu


def load(url: str, body: bytes, concurrency: int, seconds: float, pid: int | None = None) -> dict[str, Any]:
    wrk = require()
    with tempfile.TemporaryDirectory(prefix="lastmile-wrk-") as folder:
        (Path(folder) / "body.json").write_bytes(body)
        script = Path(folder) / "post.lua"
        script.write_text(SCRIPT.format(body=Path(folder) / "body.json"))
        peak, stop = [0.0], threading.Event()

        def watch() -> None:
            while not stop.wait(0.25):
                peak[0] = max(peak[0], usage(pid)[0])  # type: ignore[arg-type]

        before = usage(pid) if pid else (0.0, 0.0)
        watcher = threading.Thread(target=watch, daemon=True) if pid else None
        if watcher:
            watcher.start()
        cmd = [wrk, "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(script), url]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
        stop.set()
        after = usage(pid) if pid else (0.0, 0.0)
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRK ")), None)
    if result.returncode != 0 or line is None:
        raise SystemExit(f"bench: `{' '.join(cmd)}` failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    w = json.loads(line[4:])
    errors = {k: w[k] for k in ("connect", "read", "write", "status", "timeout") if w[k]}
    out: dict[str, Any] = {
        "requests": w["requests"],
        "ok": w["requests"] - w["status"],
        "errors": errors,
        "rps": w["requests"] / (w["duration_us"] / 1e6),
        "p50_ms": w["p50_us"] / 1000,
        "p95_ms": w["p95_us"] / 1000,
        "p99_ms": w["p99_us"] / 1000,
    }
    if pid:
        out["rss_mb"] = {"peak": round(max(peak[0], before[0], after[0]), 1)}
        out["server_cpu_ms_per_request"] = (after[1] - before[1]) * 1000 / max(w["requests"], 1)
    return out


def load_average() -> float:
    """The 1-minute load average: how busy the shared machine was around a measurement."""
    return os.getloadavg()[0]
