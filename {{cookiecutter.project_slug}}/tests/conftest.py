"""Shared fixtures: the example data, read as the pipeline reads it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def raw() -> pd.DataFrame:
    path = ROOT / "data" / "raw" / "penguins.csv"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make data` to fetch it from the DVC remote")
    return pd.read_csv(path)
