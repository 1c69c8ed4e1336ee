"""`score INPUT OUTPUT`: file->file scoring for cron, a chunk at a time, with the verified artifact.

The artifact is checked before the first row is read; each chunk is split by the contract into rows
that are scored and rows refused with their reasons; every output row names the model that scored it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..contract.artifact import ArtifactError, load_verified
from ..contract.identity import Lineage
from ..contract.predict import table
from ..contract.schema import EXAMPLE_FEATURES, FEATURES
from . import status
from .files import Writer, open_input
from .progress import Progress
from .rows import REJECTED_COLUMNS, ROW, UnusableInputError, split

CHUNK_ROWS = 100_000
_NONE = pd.Series([], dtype="int64")
IDENTITY = ("model_version", "model_sha256")  # on every output row: what ties an answer to its model


def rejected_path(output: Path) -> Path:
    """Where the refused rows go by default: beside the output, in its format."""
    return output.with_name(f"{output.stem}.rejected{output.suffix}")


def scored_frame(model: Any, frame: pd.DataFrame, rows: pd.Series, lineage: Lineage) -> pd.DataFrame:
    """The answers for valid rows, with each row's position and the model's identity."""
    answers = table(model, frame)
    answers.insert(0, ROW, rows.to_numpy(dtype="int64"))
    sha = lineage.artifact.sha256
    answers[IDENTITY[0]] = np.full(len(answers), lineage.version, dtype=object)
    answers[IDENTITY[1]] = np.full(len(answers), sha, dtype=object)
    return answers


def empty_rejected() -> pd.DataFrame:
    return pd.DataFrame({ROW: pd.Series(dtype="int64")} | {c: pd.Series(dtype=object) for c in REJECTED_COLUMNS[1:]})


def score(
    *, input: Path, output: Path, models: Path, rejected: Path | None = None, chunk_rows: int | None = None
) -> int:
    rejected, chunk_rows = rejected or rejected_path(output), chunk_rows or CHUNK_ROWS
    try:
        model, lineage = load_verified(models)
    except ArtifactError as error:
        print(f"score: refused: {error}", file=sys.stderr)
        return status.REFUSED
    scored_out, rejected_out = Writer(output, lineage), Writer(rejected)
    read = refused_rows = 0
    try:
        total, chunks = open_input(input, chunk_rows)
        progress = Progress(total)
        for chunk in chunks:
            positions = pd.Series(np.arange(read, read + len(chunk), dtype="int64"))
            valid, rows, refused = split(chunk, positions)
            if len(valid):
                scored_out.write(scored_frame(model, valid, rows, lineage))
            if len(refused):
                rejected_out.write(refused)
                refused_rows += refused[ROW].nunique()
            read += len(chunk)
            progress.update(read, refused_rows)
        progress.close()
        empty = scored_frame(model, FEATURES.validate(pd.DataFrame([EXAMPLE_FEATURES])).iloc[:0], _NONE, lineage)
        scored_out.finish(empty)
        rejected_out.finish(empty_rejected())
    except UnusableInputError as error:
        scored_out.abandon()
        rejected_out.abandon()
        print(f"score: {error}", file=sys.stderr)
        return status.UNUSABLE
    version = lineage.version
    return status.outcome("score", total=read, refused=refused_rows, version=version, output=output, rejected=rejected)
