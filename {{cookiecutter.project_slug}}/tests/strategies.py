"""Hypothesis strategies for records the input contract accepts, derived from schema.py."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.schema import COLUMNS, FEATURE_NAMES, allowed_values, value_range


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
