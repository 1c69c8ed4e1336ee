"""The input contract as pandera schemas, built from dataset.yaml.

Training-data validation (the `validate` stage), serving-request validation (the pydantic models in
messages.py) and the hypothesis strategies in the tests all come from here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa

from .dataset import DATASET, Column

TARGET = DATASET.target
TASK = DATASET.task
CLASSIFICATION = TASK != "regression"  # binary or multiclass: labels and probabilities
FEATURE_NAMES: tuple[str, ...] = DATASET.features


def category_text(values: pd.Series) -> pd.Series:
    """Category values as the contract writes them: a CSV reads the class "1" as 1, or as 1.0 beside a gap."""
    text = values.astype("string")
    if pd.api.types.is_float_dtype(values):  # value by value, so that 2.5 beside 1.0 fails alone
        whole = values.notna() & (values % 1 == 0)
        text[whole] = values[whole].astype("Int64").astype("string")
    return text.astype(object).where(values.notna(), None)


def _column(spec: Column) -> pa.Column:
    if spec.type == "category":
        # Parsed before the check, so an integer-coded category with gaps (1.0, 2.0, NaN) meets its values.
        return pa.Column(str, pa.Check.isin(spec.values), nullable=spec.nullable, description=spec.description,
                         parsers=pa.Parser(category_text))  # fmt: skip
    checks = [pa.Check.in_range(*spec.range)] if spec.range else []
    return pa.Column(float, checks, nullable=spec.nullable, description=spec.description)


COLUMNS: dict[str, pa.Column] = {name: _column(spec) for name, spec in DATASET.columns.items()}


def allowed_values(name: str) -> tuple[str, ...] | None:
    """The closed set of values of a categorical column, None for a numeric one."""
    return DATASET.columns[name].values


def value_range(name: str) -> tuple[float, float] | None:
    """The inclusive bounds of a numeric column, None where it has none."""
    return DATASET.columns[name].range


CATEGORICAL = tuple(name for name in FEATURE_NAMES if allowed_values(name) is not None)
NUMERIC = tuple(name for name in FEATURE_NAMES if name not in CATEGORICAL)


def _frame_schema(names: tuple[str, ...], title: str) -> pa.DataFrameSchema:
    # strict="filter": columns outside the contract (the raw file's `year`) are dropped, not failed.
    return pa.DataFrameSchema({n: COLUMNS[n] for n in names}, strict="filter", coerce=True, name=title)


# What a request must carry: every feature present, null only where the column allows it.
FEATURES = _frame_schema(FEATURE_NAMES, "features")
# What a training or evaluation file must hold: the features and a known target.
TRAINING = _frame_schema((*FEATURE_NAMES, TARGET), "training data").update_column(TARGET, nullable=False)

EXAMPLE: dict[str, Any] = dict(DATASET.example)
EXAMPLE_FEATURES: dict[str, Any] = {name: EXAMPLE[name] for name in FEATURE_NAMES}


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A file's rows as a client sends them: each category as its text (a CSV's True or 1.0 is "True" or "1"),
    each number a float, a gap null; the features only."""
    columns = {name: category_text(frame[name]) if name in CATEGORICAL else frame[name].astype(float)
               for name in FEATURE_NAMES}  # fmt: skip
    features = pd.DataFrame(columns, index=frame.index).astype(object)
    return features.where(features.notna(), None).to_dict("records")


def to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Records as the model saw its training data: numbers as float64, a missing value as NaN."""
    frame = pd.DataFrame.from_records(rows, columns=list(FEATURE_NAMES))
    return frame.astype({name: "float64" for name in NUMERIC} | {name: "str" for name in CATEGORICAL})
