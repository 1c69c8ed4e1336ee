"""Split a chunk of input rows into the ones the contract accepts and the reasons each other one is refused.

Shared by file->file scoring and Spark's executors, so both refuse exactly the same rows for the same reasons.
"""

from __future__ import annotations

import pandas as pd
import pandera.errors

from ..contract.schema import FEATURE_NAMES, FEATURES

ROW = "row"  # each input row's position in its file (0-based): what ties an answer or a refusal to its row
REJECTED_COLUMNS = (ROW, "column", "reason", "value")


class UnusableInputError(Exception):
    """The input cannot be scored at all (unreadable, or a contract column missing); the message names it."""


def missing_columns(columns: list[str]) -> list[str]:
    return [name for name in FEATURE_NAMES if name not in columns]


def require_columns(columns: list[str], source: str) -> None:
    if missing := missing_columns(columns):
        raise UnusableInputError(f"{source} lacks the column(s) {', '.join(missing)} the contract requires")


def split(chunk: pd.DataFrame, rows: pd.Series) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """The valid rows as the model takes them (the contract's types), their positions, and one line per
    refusal: (row, column, reason, value). `rows` holds each chunk row's position in the whole input."""
    chunk = chunk.reset_index(drop=True)
    rows = rows.reset_index(drop=True)
    try:
        valid = FEATURES.validate(chunk, lazy=True)
        return valid[list(FEATURE_NAMES)], rows, pd.DataFrame({c: [] for c in REJECTED_COLUMNS})
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    cases = cases[cases["index"].notna()]  # every column is present (checked first): all failures are per row
    bad = cases["index"].astype("int64")
    rejected = pd.DataFrame(
        {
            ROW: rows.iloc[bad.to_numpy()].to_numpy(),
            "column": cases["column"].astype(str).to_numpy(),
            "reason": cases["check"].astype(str).to_numpy(),
            "value": cases["failure_case"].astype(str).to_numpy(),
        }
    )
    # A value that is not a number fails both its conversion and its type: say so once, in row order.
    rejected = rejected.drop_duplicates([ROW, "column"]).sort_values(ROW, kind="stable", ignore_index=True)
    keep = ~chunk.index.isin(bad.unique())
    try:  # the rest passes; validating again gives the contract's types
        valid = FEATURES.validate(chunk[keep])
    except pandera.errors.SchemaError as error:  # a failure no row explains (a whole column's type)
        raise UnusableInputError(f"the input fails the contract as a whole: {str(error).splitlines()[0]}") from None
    return valid[list(FEATURE_NAMES)], rows[keep].reset_index(drop=True), rejected
