"""The input contract accepts real records and names what is wrong with bad ones."""

from __future__ import annotations

import math

import pandas as pd
import pandera.pandas as pa
import pytest

from {{ cookiecutter.package_name }}.contract.dataset import Column
from {{ cookiecutter.package_name }}.contract.schema import (
    CATEGORICAL,
    EXAMPLE_FEATURES,
    FEATURES,
    NUMERIC,
    _column,
    category_text,
    to_frame,
    to_records,
    value_range,
)


def outside_the_contract() -> list[tuple[str, object]]:
    """An unknown category, and a number below and above its range, from whatever dataset.yaml holds."""
    cases: list[tuple[str, object]] = [(name, "not one of the values") for name in CATEGORICAL[:1]]
    for name in [n for n in NUMERIC if value_range(n)][:2]:
        low, high = value_range(name) or (0.0, 0.0)
        cases += [(name, low - (high - low) - 1.0), (name, high + (high - low) + 1.0)]
    return cases


def test_the_example_record_passes() -> None:
    FEATURES.validate(to_frame([EXAMPLE_FEATURES]))


@pytest.mark.parametrize(("column", "value"), outside_the_contract())
def test_a_value_outside_the_contract_fails_naming_its_column(column: str, value: object) -> None:
    frame = to_frame([EXAMPLE_FEATURES | {column: value}])
    with pytest.raises(pa.errors.SchemaErrors) as error:
        FEATURES.validate(frame, lazy=True)
    assert set(error.value.failure_cases["column"]) == {column}


def test_to_frame_turns_missing_values_into_nan() -> None:
    frame = to_frame([dict.fromkeys(EXAMPLE_FEATURES)])
    assert all(frame[c].dtype == "float64" for c in NUMERIC)
    assert all(math.isnan(v) if isinstance(v, float) else pd.isna(v) for v in frame.iloc[0])


@pytest.mark.parametrize(
    "read",
    [[1, 2, 2], [1.0, 2.0, None], [1.0, 2.5, None], ["1", "2", None], [True, False, True]],
    ids=["int", "float-gap", "float-fraction", "text", "bool"],
)
def test_a_category_is_its_text_however_a_file_reads_it(read: list[object]) -> None:
    """A CSV reads an integer-coded category as numbers (as floats beside a gap); requests send text."""
    text = category_text(pd.Series(read)).tolist()
    assert text == [None if v is None else str(v).removesuffix(".0") for v in read]
    values = tuple(sorted({t for t in text if t is not None}))
    column = pa.DataFrameSchema({"c": _column(Column(type="category", values=values, nullable=True))}, coerce=True)
    checked = column.validate(pd.DataFrame({"c": read}))["c"]
    assert [None if pd.isna(v) else v for v in checked] == text


def test_a_value_outside_an_integer_coded_category_fails_alone() -> None:
    column = pa.DataFrameSchema({"c": _column(Column(type="category", values=("1", "2"), nullable=True))}, coerce=True)
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        column.validate(pd.DataFrame({"c": [1.0, 2.0, 2.5, None]}), lazy=True)
    assert caught.value.failure_cases["index"].tolist() == [2]


def test_a_files_rows_become_the_records_a_client_sends() -> None:
    """What the acceptance and performance stages replay: the request contract's types, not a CSV reader's."""
    frame = to_frame([dict(EXAMPLE_FEATURES), dict.fromkeys(EXAMPLE_FEATURES)])
    assert to_records(frame) == [dict(EXAMPLE_FEATURES), dict.fromkeys(EXAMPLE_FEATURES)]
    for name in CATEGORICAL[:1]:
        coded = frame.assign(**{name: [True, None]})
        assert [r[name] for r in to_records(coded)] == ["True", None]
