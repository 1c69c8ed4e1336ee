"""The request log's object-store sink: the writer's closed files go from a local spool folder to an S3 prefix.

An object is written once, whole, so a file is shipped when the writer closes it (at rotation, and when
the worker shuts down). A thread of its own uploads them oldest first and deletes each once stored: a slow
store never holds up the writer, let alone a request. A failing store (down, no bucket, no permission)
leaves the files in the spool, retried every RETRY_S; each failure is counted
(model_request_log_upload_failures) and the server log says so once, and again when uploads resume.
Past `spool_bytes` the oldest waiting files are deleted and their rows counted as dropped
(reason="upload_failed"): a store that stays down costs log rows, never the disk the service runs on.

boto3 finds the store as the AWS CLI does: AWS_ENDPOINT_URL for an S3-compatible server, credentials
from the environment, a profile, a web identity (IRSA) or the instance's role.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .log_config import STORE, LogConfig
from .metrics import ModelMetrics

logger = logging.getLogger("bentoml.monitoring")
RETRY_S = 5.0  # a failed upload is tried again after this
CONTENT_TYPE = "application/x-ndjson"


def owner(path: Path) -> int:
    """The pid of the worker that wrote a file named requests-<stamp>-<host>-<pid>.jsonl."""
    return int(path.stem.rsplit("-", 1)[-1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def s3_put(store: str) -> Callable[[Path, str], None]:
    """What stores a file under a key of the store's bucket (made in the uploading thread: boto3 is slow to import)."""
    import boto3
    from botocore.config import Config

    found = STORE.fullmatch(store)
    assert found is not None, store  # config.py refused anything else
    bucket = found["bucket"]
    client: Any = boto3.client(
        "s3", config=Config(connect_timeout=5, read_timeout=60, retries={"mode": "standard", "max_attempts": 3})
    )

    def put(path: Path, key: str) -> None:
        with path.open("rb") as body:
            client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=CONTENT_TYPE)

    return put


class Uploader:
    def __init__(
        self, config: LogConfig, metrics: ModelMetrics, put: Callable[[Path, str], None] | None = None
    ) -> None:
        """`put`: stores one file under a key (by default in the store's bucket, with boto3)."""
        assert config.folder is not None and config.store is not None
        self.config, self.metrics = config, metrics
        found = STORE.fullmatch(config.store)
        assert found is not None
        self.prefix = (found["prefix"] or "").strip("/")
        self.put = put
        self.busy = threading.Lock()  # one upload at a time: the thread's, or the shutdown's drain
        self.guard = threading.Lock()  # the list of waiting files: held for moments, never during an upload
        self.wake = threading.Event()
        self.shipping: Path | None = None  # the file being uploaded: trim leaves it
        self.failing = False
        self.failed_at = -RETRY_S
        self.pending = self.leftovers()
        self.thread = threading.Thread(target=self.run, name="request-log-upload", daemon=True)
        self.thread.start()

    def key(self, path: Path) -> str:
        return f"{self.prefix}/{path.name}" if self.prefix else path.name

    def leftovers(self) -> list[Path]:
        """Closed files a worker that is gone left in the spool (a crash, a kill): shipped first."""
        folder = self.config.folder
        assert folder is not None
        found = []
        for path in sorted(folder.glob("requests-*.jsonl")):
            with contextlib.suppress(ValueError):
                pid = owner(path)
                if pid == os.getpid() or not alive(pid):
                    found.append(path)
        return found

    def submit(self, path: Path) -> None:
        """A file the writer closed: it will be uploaded, then deleted."""
        with self.guard:
            self.pending.append(path)
            self.trim()
        self.wake.set()

    def run(self) -> None:
        while True:
            self.wake.wait(RETRY_S)
            self.wake.clear()
            with self.busy:
                self.ship()

    def drain(self, seconds: float) -> None:
        """At the worker's shutdown: try what is waiting once more, for at most `seconds`."""
        if self.busy.acquire(timeout=seconds):
            try:
                self.failed_at = -RETRY_S
                self.ship(deadline=time.monotonic() + seconds)
            finally:
                self.busy.release()

    def ship(self, deadline: float = float("inf")) -> None:
        """Upload waiting files oldest first; stop at the first failure (the store is down: all would fail)."""
        if time.monotonic() - self.failed_at < RETRY_S:
            return
        while time.monotonic() < deadline:
            with self.guard:
                if not self.pending:
                    return
                path = self.shipping = self.pending[0]
            try:
                if self.put is None:
                    self.put = s3_put(str(self.config.store))
                self.put(path, self.key(path))
            except FileNotFoundError:
                pass  # another worker shipped this leftover first
            except Exception as error:  # down, no bucket, no permission, no credentials: the files wait
                self.failed_at = time.monotonic()
                self.metrics.log_upload_failures.inc()
                if not self.failing:
                    self.failing = True
                    logger.warning(
                        "request log: cannot upload to %s (%s: %s); files wait in %s, retried every %.0f s;"
                        " counted in model_request_log_upload_failures",
                        self.config.store, type(error).__name__, error, self.config.folder, RETRY_S,
                    )  # fmt: skip
                return
            finally:
                self.shipping = None
            if self.failing:
                self.failing = False
                logger.warning("request log: uploading to %s again", self.config.store)
            with self.guard, contextlib.suppress(FileNotFoundError, ValueError):
                self.pending.remove(path)  # trim may have taken it meanwhile
                path.unlink()

    def trim(self) -> None:
        """(Holding guard.) Delete the oldest waiting files while they take more than spool_bytes; count their rows as dropped."""
        sizes = {}
        for path in self.pending:
            with contextlib.suppress(OSError):
                sizes[path] = path.stat().st_size
        total = sum(sizes.values())
        while total > self.config.spool_bytes:
            candidates = [p for p in self.pending if p != self.shipping]
            if not candidates:
                return
            oldest = candidates[0]
            self.pending.remove(oldest)
            total -= sizes.get(oldest, 0)
            rows = 0
            with contextlib.suppress(OSError):
                with oldest.open("rb") as text:
                    rows = sum(1 for _ in text)
                oldest.unlink()
            self.metrics.log_dropped.labels(reason="upload_failed").inc(rows)
            logger.warning(
                "request log: %s could not be uploaded and the spool is past %d MB: deleted (%d rows)",
                oldest.name, self.config.spool_bytes // 10**6, rows,
            )  # fmt: skip
