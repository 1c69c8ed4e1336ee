"""The request log's settings, from environment variables: a Bento carries no params.yaml, a deployment sets these.

A setting it cannot use stops the server before any worker starts, with one line naming the variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PREFIX = "REQUEST_LOG"


@dataclass(frozen=True)
class LogConfig:
    folder: Path | None  # None: the log is off
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


def from_environment() -> LogConfig:
    folder = os.environ.get(PREFIX) or None
    sensitive = os.environ.get(f"{PREFIX}_SENSITIVE", "drop")
    if sensitive not in {"drop", "hash"}:
        raise ValueError(f"{PREFIX}_SENSITIVE={sensitive!r}: use `drop` or `hash`")
    key = os.environ.get(f"{PREFIX}_HASH_KEY", "")
    if folder and sensitive == "hash" and not key:
        raise ValueError(f"{PREFIX}_SENSITIVE=hash needs {PREFIX}_HASH_KEY (a secret; the hash is an HMAC)")
    return LogConfig(
        folder=Path(folder) if folder else None,
        sample=_number("SAMPLE", 1.0, 0.0, 1.0),
        sensitive=sensitive,
        hash_key=key.encode(),
        rotate_bytes=int(_number("ROTATE_MB", 64, 0.001, 1e6) * 1e6),
        rotate_seconds=_number("ROTATE_S", 3600, 1, 1e7),
        retain_days=_number("RETAIN_DAYS", 30, 0, 1e5),
        queue_requests=int(_number("QUEUE", 10000, 1, 1e8)),
    )
