"""Shared fixtures, and each test marked with its CI stage: the folder it lives in."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("unit", "data", "performance", "acceptance")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        stage = item.path.relative_to(ROOT / "tests").parts[0]
        if stage in STAGES:
            item.add_marker(stage)


def need(path: Path, how: str) -> Path:
    """A pipeline output a test reads; a missing one fails with what to run, not a traceback."""
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `{how}` first", pytrace=False)
    return path


@pytest.fixture(scope="session")
def raw() -> pd.DataFrame:
    return pd.read_csv(need(ROOT / "data/raw/penguins.csv", "make data"))
