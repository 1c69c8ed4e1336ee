"""Hypothesis strategies for records the input contract accepts, derived from schema.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.contract.schema import COLUMNS, FEATURE_NAMES, TARGET, allowed_values, value_range


def value(name: str) -> st.SearchStrategy[Any]:
    values = allowed_values(name)
    if values is not None:
        strategy: st.SearchStrategy[Any] = st.sampled_from(values)
    else:
        low, high = value_range(name) or (-1e6, 1e6)
        strategy = st.floats(low, high, allow_nan=False, allow_infinity=False)
    return st.none() | strategy if COLUMNS[name].nullable else strategy


def records() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({name: value(name) for name in FEATURE_NAMES})


def batches(max_size: int = 20) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(records(), min_size=1, max_size=max_size)


def synthetic_frame(rows: int = 240, seed: int = 0) -> pd.DataFrame:
    """Labelled rows drawn from the contract alone, so unit tests need no data from the DVC remote.

    Every category appears, a tenth of each nullable column is missing; labels are random, which is all
    that properties of the pipeline (not its accuracy) need.
    """
    rng = np.random.default_rng(seed)
    frame = {}
    for name in (*FEATURE_NAMES, TARGET):
        values = allowed_values(name)
        if values is not None:
            column: list[Any] = [values[i % len(values)] for i in range(rows)]
            rng.shuffle(column)  # type: ignore[arg-type]
        else:
            low, high = value_range(name) or (0.0, 1.0)
            column = rng.uniform(low, high, rows).tolist()  # no rounding: a range may be narrower than 0.1
        if COLUMNS[name].nullable and name != TARGET:
            column = [None if rng.random() < 0.1 else v for v in column]
        frame[name] = column
    return pd.DataFrame(frame)
