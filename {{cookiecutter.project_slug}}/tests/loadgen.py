"""A small HTTP load generator for the service, run as its own process: `python -m tests.loadgen --url ...`.

A development tool, not part of the package: production never runs it, so the Bento does not ship it.

Keep-alive connections on asyncio streams, no dependencies: it costs a few percent of a core at the
rates a model server on two cores sustains, so it can share the machine with the server it measures.
Two modes: closed loop (each connection sends its next request when the last one is answered: the
service's throughput) and a fixed rate (latency counted from when each request was due, so a slow
server cannot hide its queue). Bounded by a number of requests and by a duration, whichever ends first.
Optionally samples the resident memory and CPU time of a server's process tree while it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def count_error(self, error: BaseException) -> None:
        name = error.__class__.__name__
        self.errors[name] = self.errors.get(name, 0) + 1


def request_bytes(url: str, body: bytes) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    head = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return parts.hostname or "127.0.0.1", parts.port or 80, head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    """The status of one HTTP/1.1 response, its body read to the end (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    if headers.get("connection") == "close":
        raise ConnectionResetError("the server closed the connection")
    return status


async def client(
    host: str, port: int, payload: bytes, slots: asyncio.Queue[float | None], tally: Tally, timeout: float
) -> None:
    stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None  # one keep-alive connection
    while (due := await slots.get()) is not None:
        if due > (now := time.perf_counter()):
            await asyncio.sleep(due - now)
        start = due if due else time.perf_counter()
        try:
            if stream is None:
                stream = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            stream[1].write(payload)
            status = await asyncio.wait_for(read_response(stream[0]), timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as error:
            tally.count_error(error)
            if stream is not None:
                stream[1].close()
            stream = None
            continue
        tally.latencies.append(time.perf_counter() - start)
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
    if stream is not None:
        stream[1].close()


def tree_usage(pid: int) -> tuple[float, float]:
    """Resident memory (MiB) and CPU seconds used so far by a process and all its children."""
    import psutil  # a BentoML dependency; imported only when a server is watched

    rss = cpu = 0.0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            rss += process.memory_info().rss
            times = process.cpu_times()
            cpu += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return rss / 2**20, cpu


async def watch(pid: int, every: float, samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(tree_usage(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
    samples.append(tree_usage(pid))


async def run(
    url: str,
    body: bytes,
    *,
    concurrency: int,
    requests: int,
    duration: float,
    rate: float | None = None,
    timeout: float = 30.0,
    watch_pid: int | None = None,
) -> dict[str, Any]:
    host, port, payload = request_bytes(url, body)
    tally, stop = Tally(), asyncio.Event()
    usage: list[tuple[float, float]] = []
    slots: asyncio.Queue[float | None] = asyncio.Queue(maxsize=concurrency)
    workers = [asyncio.create_task(client(host, port, payload, slots, tally, timeout)) for _ in range(concurrency)]
    watcher = asyncio.create_task(watch(watch_pid, 1.0, usage, stop)) if watch_pid else None
    start = time.perf_counter()
    deadline = start + duration
    sent = 0
    # Slots are handed out as connections free up; with a rate, each slot is the time its request is due.
    while sent < requests and time.perf_counter() < deadline:
        await slots.put(start + sent / rate if rate else 0.0)
        sent += 1
    for _ in workers:
        await slots.put(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    stop.set()
    if watcher:
        await watcher
    return summary(tally, elapsed, usage)


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q / 100 * len(sorted_values)))]


def summary(tally: Tally, elapsed: float, usage: list[tuple[float, float]]) -> dict[str, Any]:
    latencies = sorted(tally.latencies)
    ok = tally.statuses.get(200, 0)
    result: dict[str, Any] = {
        "requests": len(latencies) + sum(tally.errors.values()),
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "errors": tally.errors,
        "seconds": round(elapsed, 3),
        "rps": round(ok / elapsed, 1) if elapsed else 0.0,
    }
    if latencies:
        result.update(
            {f"p{q}_ms": round(percentile(latencies, q) * 1e3, 2) for q in (50, 95, 99)}
            | {"mean_ms": round(statistics.fmean(latencies) * 1e3, 2)}
        )
    if usage:
        memory = [rss for rss, _ in usage]
        # Memory after the first fifth (workers warm) against the end: growth under steady load is a leak.
        warm = memory[len(memory) // 5]
        result["rss_mb"] = {"warm": round(warm, 1), "last": round(memory[-1], 1), "peak": round(max(memory), 1)}
        # CPU time the server spent per request answered: steadier than latency on a shared machine.
        if ok:
            result["server_cpu_ms_per_request"] = round((usage[-1][1] - usage[0][1]) / ok * 1e3, 2)
    return result


def load(url: str, body: bytes, **options: Any) -> dict[str, Any]:
    return asyncio.run(run(url, body, **options))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m tests.loadgen", description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="the predict endpoint, e.g. http://127.0.0.1:3000/predict")
    p.add_argument("--rows", type=int, default=1, help="records per request (copies of the contract's example)")
    p.add_argument("--concurrency", type=int, default=8, help="open connections")
    p.add_argument("--requests", type=int, default=10_000, help="stop after this many requests")
    p.add_argument("--duration", type=float, default=30.0, help="or after this many seconds")
    p.add_argument("--rate", type=float, help="requests per second in all (default: as fast as answered)")
    p.add_argument("--watch-pid", type=int, help="sample the memory and CPU time of this process and its children")
    args = p.parse_args(argv)
    if args.rows < 1 or args.concurrency < 1 or args.requests < 1 or args.duration <= 0 or (args.rate or 1) <= 0:
        p.error("--rows, --concurrency, --requests, --duration and --rate must be positive")
    from {{ cookiecutter.package_name }}.contract.schema import EXAMPLE_FEATURES

    body = json.dumps({"records": [EXAMPLE_FEATURES] * args.rows}).encode()
    options = {k: getattr(args, k) for k in ("concurrency", "requests", "duration", "rate", "watch_pid")}
    print(json.dumps(load(args.url, body, **options)))


if __name__ == "__main__":
    main()
