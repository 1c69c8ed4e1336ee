"""The input contract accepts real records and names what is wrong with bad ones."""

from __future__ import annotations

import math

import pandas as pd
import pandera.pandas as pa
import pytest

from {{ cookiecutter.package_name }}.contract.schema import EXAMPLE_FEATURES, FEATURES, NUMERIC, to_frame


def test_the_example_record_passes() -> None:
    FEATURES.validate(to_frame([EXAMPLE_FEATURES]))


@pytest.mark.parametrize(
    ("column", "value"),
    [("island", "Atlantis"), ("bill_depth_mm", 3.0), ("flipper_length_mm", 2000.0)],
)
def test_a_value_outside_the_contract_fails_naming_its_column(column: str, value: object) -> None:
    frame = to_frame([EXAMPLE_FEATURES | {column: value}])
    with pytest.raises(pa.errors.SchemaErrors) as error:
        FEATURES.validate(frame, lazy=True)
    assert set(error.value.failure_cases["column"]) == {column}


def test_to_frame_turns_missing_values_into_nan() -> None:
    frame = to_frame([dict.fromkeys(EXAMPLE_FEATURES)])
    assert all(frame[c].dtype == "float64" for c in NUMERIC)
    assert all(math.isnan(v) if isinstance(v, float) else pd.isna(v) for v in frame.iloc[0])
