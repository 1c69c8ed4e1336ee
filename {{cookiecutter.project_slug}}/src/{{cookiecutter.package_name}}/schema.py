"""The model's input contract, in one place.

Training-data validation (the `validate` stage), serving-request validation (the pydantic models the
service derives from FEATURES) and the hypothesis strategies in the tests all come from this module.
Change a range or a category here and every one of them follows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa

ISLANDS = ("Biscoe", "Dream", "Torgersen")
SEXES = ("female", "male")
SPECIES = ("Adelie", "Chinstrap", "Gentoo")

# Each range is wider than anything observed (Palmer Station, 2007-2009), so that a plausible new
# bird passes and a unit mistake (metres for millimetres, kilograms for grams) does not.
COLUMNS: dict[str, pa.Column] = {
    "species": pa.Column(str, pa.Check.isin(SPECIES), description="Penguin species"),
    "island": pa.Column(str, pa.Check.isin(ISLANDS), description="Island in the Palmer Archipelago"),
    "bill_length_mm": pa.Column(
        float, pa.Check.in_range(20.0, 80.0), nullable=True, description="Bill length in millimetres"
    ),
    "bill_depth_mm": pa.Column(
        float, pa.Check.in_range(10.0, 30.0), nullable=True, description="Bill depth in millimetres"
    ),
    "flipper_length_mm": pa.Column(
        float, pa.Check.in_range(150.0, 250.0), nullable=True, description="Flipper length in millimetres"
    ),
    "body_mass_g": pa.Column(float, pa.Check.in_range(2000.0, 7000.0), nullable=True, description="Body mass in grams"),
    "sex": pa.Column(str, pa.Check.isin(SEXES), nullable=True, description="Sex, where it was recorded"),
}

TARGET = "{{ cookiecutter.__target }}"
TASK = "classification" if TARGET == "species" else "regression"
FEATURE_NAMES: tuple[str, ...] = tuple(name for name in COLUMNS if name != TARGET)


def allowed_values(name: str) -> tuple[str, ...] | None:
    """The closed set of values of a categorical column (its `isin` check), None for a numeric one."""
    for check in COLUMNS[name].checks:
        if check.name == "isin":
            return tuple(check.statistics["allowed_values"])
    return None


def value_range(name: str) -> tuple[float, float] | None:
    """The inclusive bounds of a numeric column (its `in_range` check)."""
    for check in COLUMNS[name].checks:
        if check.name == "in_range":
            return check.statistics["min_value"], check.statistics["max_value"]
    return None


CATEGORICAL = tuple(name for name in FEATURE_NAMES if allowed_values(name) is not None)
NUMERIC = tuple(name for name in FEATURE_NAMES if name not in CATEGORICAL)


def _frame_schema(names: tuple[str, ...], title: str) -> pa.DataFrameSchema:
    # strict="filter": columns outside the contract (the raw file's `year`) are dropped, not failed.
    return pa.DataFrameSchema({n: COLUMNS[n] for n in names}, strict="filter", coerce=True, name=title)


# What a request must carry: every feature present, null only where the column allows it.
FEATURES = _frame_schema(FEATURE_NAMES, "features")
# What a training or evaluation file must hold: the features and a known target.
TRAINING = _frame_schema((*FEATURE_NAMES, TARGET), "training data").update_column(TARGET, nullable=False)

# One real record; the service's OpenAPI page and the tests both use it.
EXAMPLE: dict[str, Any] = {
    "species": "Adelie",
    "island": "Torgersen",
    "bill_length_mm": 39.1,
    "bill_depth_mm": 18.7,
    "flipper_length_mm": 181.0,
    "body_mass_g": 3750.0,
    "sex": "male",
}
EXAMPLE_FEATURES: dict[str, Any] = {name: EXAMPLE[name] for name in FEATURE_NAMES}


def to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Records as the model saw its training data: numbers as float64, a missing value as NaN."""
    frame = pd.DataFrame.from_records(rows, columns=list(FEATURE_NAMES))
    return frame.astype({name: "float64" for name in NUMERIC} | {name: "str" for name in CATEGORICAL})
