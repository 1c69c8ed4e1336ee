"""Read a window of the request log (the JSON Lines files the service writes) into one row per answered record."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract.schema import FEATURE_NAMES, TARGET


class TrafficError(ValueError):
    """The log or the labels cannot be read; the message names the file and the problem."""


def instant(text: str) -> datetime:
    """A window's edge as given on the command line: ISO 8601 with a time zone (the log's times are UTC)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise TrafficError(f"{text!r} is not an ISO 8601 time (e.g. 2026-11-22T10:00:00+00:00)") from None
    if value.tzinfo is None:
        raise TrafficError(f"{text!r} has no time zone; add one (+00:00)")
    return value


def read(folder: Path, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
    """Every logged row with `since <= time < until`: its features, prediction, model, request id and row."""
    if not folder.is_dir():
        raise TrafficError(f"{folder}: no such folder (the server's REQUEST_LOG)")
    records: list[dict[str, Any]] = []
    for path in sorted(folder.glob("requests-*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.endswith("\n"):
                    continue  # a line the writer has not finished (or a crash cut short)
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    raise TrafficError(f"{path}:{number}: not JSON") from None
                records.append({**entry.pop("features"), **entry})
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return pd.DataFrame(columns=[*FEATURE_NAMES, "time", "request_id", "row", "prediction", "model_sha256"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    if since is not None:
        frame = frame[frame["time"] >= pd.Timestamp(since)]
    if until is not None:
        frame = frame[frame["time"] < pd.Timestamp(until)]
    return frame.reset_index(drop=True)


def join_labels(traffic: pd.DataFrame, labels: Path) -> pd.DataFrame:
    """The logged rows that have a label: `labels` is a CSV of request_id, the target and (for a batch) row."""
    try:
        known = pd.read_csv(labels, dtype={"request_id": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise TrafficError(f"{labels}: {error}") from None
    missing = {"request_id", TARGET} - set(known.columns)
    if missing:
        raise TrafficError(f"{labels}: needs the columns request_id and {TARGET}; it lacks {sorted(missing)}")
    if "row" not in known:
        known["row"] = 0
    known = known[["request_id", "row", TARGET]].rename(columns={TARGET: "label"})
    return traffic.merge(known, on=["request_id", "row"], how="inner")
