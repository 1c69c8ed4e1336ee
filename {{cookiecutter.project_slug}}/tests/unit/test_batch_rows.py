"""The contract's split of batch rows, with no model: valid rows kept in order, each refusal named."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.batch.progress import Progress
from {{ cookiecutter.package_name }}.batch.rows import UnusableInputError, require_columns, split
from {{ cookiecutter.package_name }}.contract.schema import CATEGORICAL, EXAMPLE_FEATURES, FEATURE_NAMES, NUMERIC


def rows(n: int) -> pd.DataFrame:
    return pd.DataFrame([EXAMPLE_FEATURES] * n).astype(object)


def test_valid_rows_pass_with_their_positions_and_the_contracts_types() -> None:
    valid, positions, refused = split(rows(3), pd.Series([10, 11, 12]))
    assert positions.tolist() == [10, 11, 12] and refused.empty
    assert list(valid.columns) == list(FEATURE_NAMES)
    assert all(valid[name].dtype == "float64" for name in NUMERIC)


def test_each_bad_value_is_refused_once_with_its_row_column_and_reason() -> None:
    # A text in a number column, a category the contract does not allow: whichever kinds this contract has.
    bad = [(name, "not a number", "coerce_dtype") for name in NUMERIC[:1]]
    bad += [(name, "nowhere", "isin") for name in CATEGORICAL[:1]]
    assert bad, "the contract has no feature column"
    frame = rows(len(bad) + 2)
    for row, (column, value, _) in enumerate(bad, start=1):
        frame.loc[row, column] = value
    valid, positions, refused = split(frame, pd.Series(range(100, 100 + len(frame))))
    assert positions.tolist() == [100, 100 + len(frame) - 1] and len(valid) == 2
    found = {(r.row, r.column, r.reason.split("(")[0]) for r in refused.itertuples()}
    assert found == {(100 + row, column, check) for row, (column, _, check) in enumerate(bad, start=1)}


def test_a_missing_contract_column_makes_the_input_unusable() -> None:
    with pytest.raises(UnusableInputError, match=f"rows.csv lacks the column\\(s\\) {FEATURE_NAMES[-1]}"):
        require_columns(list(FEATURE_NAMES[:-1]), "rows.csv")


def test_progress_is_plain_lines_off_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(total=200, stream=out)
    progress.update(100, 1)
    progress.update(200, 1)
    progress.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in out.getvalue()
    assert "200/200 rows 100%, 1 rejected" in lines[1]
