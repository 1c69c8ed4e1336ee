"""What `make adopt` reads from a table: the task, the contract of each usable column, and why the others go.

Pure functions of a data frame: nothing here writes a file, so adopt.py can refuse bad data having
changed nothing. Every rule is a plain threshold named below, so a person can read why a column went.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract.dataset import LOG_FIELDS
from ..contract.schema import category_text
from . import prepare

MIN_ROWS = 100  # labelled rows: fewer cannot be split, trained and evaluated with any confidence
MAX_CLASSES = 20  # an integer target with at most this many values is read as classes, not a quantity
MAX_CATEGORIES = 50  # a text column with more distinct values is not a category
FREE_TEXT_WORDS = 3  # a text column whose values average this many words is free text
DATE_SHARE = 0.9  # a text column this share of which parses as dates is a date
MARGIN = 0.1  # a range is widened by this share of the observed span on each side
IDENTIFIER_NAME = re.compile(r"(^|[_\s-])(id|uuid|guid|key|index)$|^id[_\s-]", re.IGNORECASE)
TASKS = ("binary", "multiclass", "regression")


class AdoptError(ValueError):
    """The data cannot be adopted as it is; the message is one line saying what to fix."""


@dataclass
class Inferred:
    task: str
    task_reason: str
    columns: dict[str, dict[str, Any]]
    example: dict[str, Any]
    dropped: dict[str, str] = field(default_factory=dict)
    labelled_rows: int = 0


def read(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file, or one line saying why it cannot be read."""
    if not path.is_file():
        raise AdoptError(f"{path}: no such file")
    try:
        if path.suffix.lower() not in prepare.RAW_SUFFIXES:
            raise AdoptError(f"{path}: not a .csv or .parquet file")
        frame = prepare.read(path)
    except AdoptError:
        raise
    except ImportError as error:
        raise AdoptError(f"{path}: reading it needs {error.name} (`uv add {error.name}`)") from None
    except Exception as error:  # any reader's failure gets the same answer: this file cannot be read
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise AdoptError(f"{path}: cannot be read as a table ({first})") from None
    if frame.empty or len(frame.columns) < 2:
        raise AdoptError(f"{path}: holds no table (a header and rows of at least two columns)")
    return frame


def _integral(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and bool((values.dropna() % 1 == 0).all())


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def task_of(target: pd.Series) -> tuple[str, str]:
    """binary, multiclass or regression, and the reason in words."""
    present = target.dropna()
    distinct = present.nunique()
    if not _numeric(present):
        kind = "binary" if distinct == 2 else "multiclass"
        return kind, f"{distinct} distinct text values"
    if _integral(present) and distinct <= MAX_CLASSES:
        kind = "binary" if distinct == 2 else "multiclass"
        return kind, f"{distinct} distinct whole numbers (at most {MAX_CLASSES} are read as classes)"
    return "regression", f"numbers with {distinct} distinct values"


def drop_reason(name: str, values: pd.Series) -> str | None:
    """Why a feature column cannot be used as it is, or None when it can."""
    if name in LOG_FIELDS:
        return f"named like a field of the request log ({name!r} is the log's own): rename it to use it"
    present = values.dropna()
    distinct = present.nunique()
    if distinct == 0:
        return "empty: no values"
    if distinct == 1:
        return f"constant: every row holds {present.iloc[0]!r}, which says nothing about the target"
    all_distinct = distinct == len(values)
    if _numeric(present):
        ordered = present.is_monotonic_increasing or present.is_monotonic_decreasing
        if _integral(present) and all_distinct and (IDENTIFIER_NAME.search(name) or ordered):
            return "identifier: a distinct whole number on every row, which names a row rather than describing it"
        return None
    text = present.astype(str)
    if IDENTIFIER_NAME.search(name) and all_distinct:
        return "identifier: a distinct value on every row"
    if text.str.contains(r"\d").mean() >= DATE_SHARE:
        dates = pd.to_datetime(text, errors="coerce", format="mixed")
        if dates.notna().mean() >= DATE_SHARE:
            return "date: a model would learn the calendar of this file, not something that holds later (derive features such as the month by hand)"
    if text.str.split().str.len().mean() >= FREE_TEXT_WORDS:
        return "free text: sentences need a text model, not a category"
    if all_distinct:
        return "identifier: a distinct value on every row"
    if distinct > MAX_CATEGORIES:
        return f"too many categories: {distinct} distinct values (at most {MAX_CATEGORIES})"
    return None


def _outward(value: float, step: float, up: bool) -> float:
    return float((math.ceil if up else math.floor)(value / step) * step)


def value_range(values: pd.Series) -> list[float]:
    """The observed range widened by MARGIN of its span on each side, rounded outward to readable numbers."""
    low, high = float(values.min()), float(values.max())
    span = (high - low) or abs(high) or 1.0
    step = 10 ** math.floor(math.log10(span * MARGIN))
    lower = _outward(low - MARGIN * span, step, up=False)
    if low >= 0:  # a quantity never seen below zero stays non-negative
        lower = max(lower, 0.0)
    return [round(lower, 10), round(_outward(high + MARGIN * span, step, up=True), 10)]


def column_spec(name: str, values: pd.Series, *, category: bool) -> dict[str, Any]:
    present = values.dropna()
    spec: dict[str, Any]
    if category:
        spec = {"type": "category", "values": sorted(set(category_text(present)))}
    else:
        spec = {"type": "float", "range": value_range(present)}
    if values.isna().any():
        spec["nullable"] = True
    spec["description"] = name.replace("_", " ")
    return spec


def _example_value(value: Any, spec: dict[str, Any]) -> Any:
    return category_text(pd.Series([value])).iloc[0] if spec["type"] == "category" else float(value)


def infer(frame: pd.DataFrame, target: str, task: str | None = None) -> Inferred:
    """The contract of `frame` predicting `target`, or an AdoptError naming the one thing wrong."""
    if target not in frame.columns:
        raise AdoptError(f"target {target!r} is not a column; the columns are {', '.join(map(str, frame.columns))}")
    if target in LOG_FIELDS:
        raise AdoptError(f"target {target!r} is named like a field of the request log; rename the column")
    if task is not None and task not in TASKS:
        raise AdoptError(f"TASK={task!r} is not one of {', '.join(TASKS)}")
    labelled = frame.dropna(subset=[target])
    if len(labelled) < MIN_ROWS:
        raise AdoptError(
            f"{len(labelled)} rows have a {target!r}; at least {MIN_ROWS} are needed to train and evaluate"
        )
    inferred_task, reason = task_of(labelled[target])
    if task is None:
        task = inferred_task
    elif task != "regression" and inferred_task == "regression" and not _integral(labelled[target]):
        raise AdoptError(
            f"target {target!r} holds fractional numbers; it cannot be {task} (leave TASK out or use regression)"
        )
    elif task == "regression" and not _numeric(labelled[target]):
        raise AdoptError(f"target {target!r} holds text; a regression needs numbers")
    classes = labelled[target].astype(str).value_counts()
    if task != "regression":
        if len(classes) < 2:
            raise AdoptError(f"target {target!r} has one class ({classes.index[0]!r}); a classifier needs at least two")
        if task == "binary" and len(classes) != 2:
            raise AdoptError(
                f"target {target!r} has {len(classes)} classes; binary needs exactly two (use TASK=multiclass)"
            )
        if classes.min() < 2:
            raise AdoptError(
                f"class {classes.idxmin()!r} of {target!r} has one row; each class needs at least two to be held out"
            )

    dropped = {str(n): r for n in frame.columns if n != target and (r := drop_reason(str(n), frame[n])) is not None}
    kept = [str(n) for n in frame.columns if n != target and str(n) not in dropped]
    if not kept:
        raise AdoptError(f"no column besides {target!r} can be used as a feature ({len(dropped)} dropped)")
    columns = {target: column_spec(target, labelled[target], category=task != "regression")}
    for name in kept:
        columns[name] = column_spec(name, frame[name], category=not _numeric(frame[name]))
    columns[target].pop("nullable", None)  # rows without a target are dropped before training

    complete = labelled.dropna(subset=kept)
    row = (complete if len(complete) else labelled).iloc[0]
    example = {
        name: (None if pd.isna(row[name]) else _example_value(row[name], spec)) for name, spec in columns.items()
    }
    why = reason if task == inferred_task else f"given as TASK (the target reads as {inferred_task}: {reason})"
    return Inferred(task, why, columns, example, dropped, len(labelled))
