"""The request log's settings, from environment variables: a Bento carries no params.yaml, a deployment sets these.

A setting it cannot use stops the server before any worker starts, with one line naming the variable.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

PREFIX = "REQUEST_LOG"
STORE = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>[^\s]*))?")


@dataclass(frozen=True)
class LogConfig:
    folder: Path | None  # where the writer appends: the log itself, or the spool of `store`; None: the log is off
    store: str | None  # s3://bucket/prefix the closed files are uploaded to (upload.py); None: the folder is the log
    spool_bytes: int  # files waiting for the store beyond this are deleted, oldest first (their rows counted)
    sample: float  # share of requests recorded, 0..1
    sensitive: str  # "drop" or "hash" for the columns contract/dataset.yaml marks sensitive
    hash_key: bytes  # the HMAC key of "hash": without it a small set of values is reversed by trying them all
    rotate_bytes: int  # a file is closed and a new one started past this size...
    rotate_seconds: float  # ...or this age
    retain_days: float  # files older than this are deleted at a rotation (0: kept)
    queue_requests: int  # requests waiting for the writer beyond this are dropped (their rows counted)


def _number(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(f"{PREFIX}_{name}")
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{PREFIX}_{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ValueError(f"{PREFIX}_{name}={raw!r} is outside [{low:g}, {high:g}]")
    return value


def _destination(where: str) -> tuple[Path, str | None]:
    """(the folder written, the store it is shipped to) for REQUEST_LOG's value."""
    if "://" not in where:
        return Path(where), None
    found = STORE.fullmatch(where)
    if found is None:
        raise ValueError(
            f"{PREFIX}={where!r}: use a folder or s3://<bucket>/<prefix> (any S3-compatible store, its endpoint in"
            " AWS_ENDPOINT_URL; for another, a folder it syncs)"
        )
    try:
        import boto3  # noqa: F401  (what upload.py stores with)
    except ImportError:
        raise ValueError(f"{PREFIX}={where!r} needs boto3 in the service's dependencies") from None
    spool = os.environ.get(f"{PREFIX}_SPOOL") or str(Path(tempfile.gettempdir()) / "request-log-spool")
    return Path(spool), where.rstrip("/")


def from_environment() -> LogConfig:
    where = os.environ.get(PREFIX) or None
    folder, store = _destination(where) if where else (None, None)
    sensitive = os.environ.get(f"{PREFIX}_SENSITIVE", "drop")
    if sensitive not in {"drop", "hash"}:
        raise ValueError(f"{PREFIX}_SENSITIVE={sensitive!r}: use `drop` or `hash`")
    key = os.environ.get(f"{PREFIX}_HASH_KEY", "")
    if where and sensitive == "hash" and not key:
        raise ValueError(f"{PREFIX}_SENSITIVE=hash needs {PREFIX}_HASH_KEY (a secret; the hash is an HMAC)")
    return LogConfig(
        folder=folder,
        store=store,
        spool_bytes=int(_number("SPOOL_MB", 1024, 1, 1e7) * 1e6),
        sample=_number("SAMPLE", 1.0, 0.0, 1.0),
        sensitive=sensitive,
        hash_key=key.encode(),
        rotate_bytes=int(_number("ROTATE_MB", 64, 0.001, 1e6) * 1e6),
        # An object is written once, whole: a store sees a file when it closes, so they close sooner there.
        rotate_seconds=_number("ROTATE_S", 600 if store else 3600, 1, 1e7),
        retain_days=_number("RETAIN_DAYS", 30, 0, 1e5),
        queue_requests=int(_number("QUEUE", 10000, 1, 1e8)),
    )
