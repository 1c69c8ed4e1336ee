"""The request log: a sample of requests and their answers, written to rotating JSON Lines files off the request path.

The request path only puts a reference on a bounded queue (`record`); a thread of its own turns it into
lines and writes them. A slow or failing disk fills the queue or fails the write: the rows are dropped
and counted (model_request_log_dropped_rows), the server log says so once per reason, and no request
waits for the disk or fails because of it. One file per worker process, so workers never share a file.
With an object store for a destination, the folder is a spool and each closed file is uploaded (upload.py).
At the worker's shutdown (close) what is queued is written and the last file closed, and shipped.
A shadow challenger, when the Bento packs one, scores each batch in the same thread (shadow.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import queue
import random
import re
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from ..contract.dataset import DATASET
from .log_config import LogConfig
from .metrics import ModelMetrics
from .shadow import Shadow
from .upload import Uploader

logger = logging.getLogger("bentoml.monitoring")
# A failed disk is retried at most this often; meanwhile its rows are dropped (and counted).
RETRY_S = 1.0
WRITE_EVERY_S = 0.2  # what waited in the queue is written together, this often
EXIT_S = 10.0  # at the worker's shutdown, the longest spent shipping what the store has not got yet
# In file names: replicas writing to one store (or one shared folder) never pick the same name.
HOST = re.sub(r"[^A-Za-z0-9.]+", ".", socket.gethostname()) or "host"


def mask(row: dict[str, Any], sensitive: tuple[str, ...], how: str, key: bytes) -> dict[str, Any]:
    """The row without its sensitive columns, or with each replaced by an HMAC-SHA256 of its value."""
    if not sensitive:
        return row
    if how == "drop":
        return {k: v for k, v in row.items() if k not in sensitive}
    masked = dict(row)
    for name in sensitive:
        if masked.get(name) is not None:
            masked[name] = hmac.new(key, str(masked[name]).encode(), hashlib.sha256).hexdigest()
    return masked


class RequestLog:
    def __init__(
        self, config: LogConfig, metrics: ModelMetrics, sha256: str, shadow: Shadow | None = None,
        uploader: Uploader | None = None,
    ) -> None:  # fmt: skip
        """`uploader`: ships closed files to `config.store` (made here when it names one and none is given)."""
        self.config = config
        self.shadow = shadow  # scores what this thread takes off the queue, after the answers went out
        self.metrics = metrics
        self.sha256 = sha256
        self.queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=config.queue_requests)
        self.file: IO[str] | None = None
        self.opened_at = 0.0
        self.failed_at = -RETRY_S
        self.told: set[str] = set()  # reasons already written to the server log
        self.sensitive = tuple(n for n in DATASET.sensitive if n in DATASET.features)
        if uploader is None and config.store is not None:
            uploader = Uploader(config, metrics)
        self.uploader = uploader
        self.lock = threading.Lock()  # one writer at a time: the thread, or close() at shutdown
        self.closed = False
        self.thread = threading.Thread(target=self.run, name="request-log", daemon=True)
        self.thread.start()

    def record(self, request_id: str, rows: list[dict[str, Any]], answers: list[Any], latency_ms: float) -> None:
        """On the request path: a sample decision and a non-blocking put, nothing else."""
        if self.config.sample < 1.0 and random.random() >= self.config.sample:
            return
        item = (time.time(), request_id, rows, answers, latency_ms)
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            self.dropped("queue_full", len(rows), "the writer is behind (a slow disk?)")

    def dropped(self, reason: str, rows: int, why: str) -> None:
        self.metrics.log_dropped.labels(reason=reason).inc(rows)
        if reason not in self.told:
            self.told.add(reason)
            logger.warning(
                "request log: dropping rows (%s): %s; counted in model_request_log_dropped_rows", reason, why
            )

    def shadowed(self, batch: list[tuple[Any, ...]]) -> list[Any]:
        """The shadow's answers for each request of the batch (one predict call for all), or its error, or None."""
        if self.shadow is None:
            return [None] * len(batch)
        scored = self.shadow.score([row for item in batch for row in item[2]])
        if isinstance(scored, str):
            return [scored] * len(batch)
        parts, start = [], 0
        for item in batch:
            parts.append(scored[start : start + len(item[2])])
            start += len(item[2])
        return parts

    def lines(self, item: tuple[Any, ...], scored: Any = None) -> list[str]:
        at, request_id, rows, answers, latency_ms = item
        time_text = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
        out = []
        for index, (row, answer) in enumerate(zip(rows, answers, strict=True)):
            line: dict[str, Any] = {
                "time": time_text, "request_id": request_id, "row": index, "latency_ms": round(latency_ms, 3),
                "model_sha256": self.sha256,
                "features": mask(row, self.sensitive, self.config.sensitive, self.config.hash_key),
                "prediction": answer.prediction, "probabilities": getattr(answer, "probabilities", None),
            }  # fmt: skip
            if self.shadow is not None and scored is not None:
                line |= self.shadow.fields(scored, index)
            out.append(json.dumps(line, separators=(",", ":")))
        return out

    def run(self) -> None:
        while True:
            # Wake on a clock, not per request: a thread woken for every request contends for the GIL
            # with the event loop and the predict thread (measured: twice the CPU per request at one client).
            time.sleep(WRITE_EVERY_S)
            with self.lock:
                if self.closed:
                    return
                self.write_waiting()

    def write_waiting(self) -> None:
        """(Holding lock.) Write what waits in the queue; close a file past its age even when nothing waits."""
        batch = []
        with contextlib.suppress(queue.Empty):
            while True:
                batch.append(self.queue.get_nowait())
        if not batch:
            if self.file is not None and time.monotonic() - self.opened_at >= self.config.rotate_seconds:
                self.rotate()
            return
        rows = sum(len(item[2]) for item in batch)
        if time.monotonic() - self.failed_at < RETRY_S:
            self.dropped("write_failed", rows, "the last write failed")
            return
        try:
            shadowed = self.shadowed(batch)
            text = "".join(line + "\n" for item, s in zip(batch, shadowed, strict=True) for line in self.lines(item, s))
            out = self.current()
            out.write(text)
            out.flush()
        except Exception as error:  # a full disk, a lost mount, a permission: never the request's problem
            self.failed_at = time.monotonic()
            with contextlib.suppress(Exception):
                self.rotate()  # what the file holds already is shipped (a store) like any closed file
            self.file = None
            self.dropped("write_failed", rows, f"{type(error).__name__}: {error}")

    def close(self) -> None:
        """At the worker's shutdown: write what is queued, close the file, ship what the store lacks."""
        with self.lock:
            if self.closed:
                return
            with contextlib.suppress(Exception):
                self.write_waiting()
            self.closed = True
            with contextlib.suppress(Exception):
                self.rotate()
        if self.uploader is not None:
            self.uploader.drain(EXIT_S)

    def current(self) -> IO[str]:
        """The open file, or a new one when the current is too large or too old."""
        folder = self.config.folder
        assert folder is not None
        if self.file is not None and (
            self.file.tell() >= self.config.rotate_bytes
            or time.monotonic() - self.opened_at >= self.config.rotate_seconds
        ):
            self.rotate()
        if self.file is None:
            folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            self.file = (folder / f"requests-{stamp}-{HOST}-{os.getpid()}.jsonl").open("a", encoding="utf-8")
            self.opened_at = time.monotonic()
        return self.file

    def rotate(self) -> None:
        """Close the open file: hand it to the store's uploader, or (a folder) expire the old ones."""
        if self.file is None:
            return
        path = Path(self.file.name)
        self.file.close()
        self.file = None
        if self.uploader is not None:
            self.uploader.submit(path)
        else:
            assert self.config.folder is not None
            self.expire(self.config.folder)

    def expire(self, folder: Path) -> None:
        if not self.config.retain_days:
            return
        limit = time.time() - self.config.retain_days * 86400
        for path in folder.glob("requests-*.jsonl"):
            with contextlib.suppress(OSError):  # another worker removed it first
                if path.stat().st_mtime < limit:
                    path.unlink()
