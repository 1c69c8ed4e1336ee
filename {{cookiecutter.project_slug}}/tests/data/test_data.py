"""The versioned data meets the input contract, the quality rules, and has not drifted from training."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.contract import drift, params
from {{ cookiecutter.package_name }}.contract.dataset import DATASET
from {{ cookiecutter.package_name }}.pipeline import prepare
from {{ cookiecutter.package_name }}.pipeline.validate import check_file
from tests.conftest import ROOT, need

RAW_FILES = prepare.raw_tables(ROOT / "data" / "raw")
PROFILE = ROOT / "models" / "training_profile.json"


def test_there_is_data_to_check() -> None:
    need(ROOT / DATASET.raw_data, "make data")


@pytest.mark.parametrize("path", RAW_FILES, ids=[p.name for p in RAW_FILES])
def test_the_data_meets_the_schema_and_the_quality_rules(path: Path) -> None:
    findings = check_file(path, params.load("validate", ROOT / "params.yaml"))
    if findings:
        report = "\n".join(f"  - {f.line()}" for f in findings)
        pytest.fail(f"{path.relative_to(ROOT)} fails {len(findings)} check(s):\n{report}", pytrace=False)


@pytest.mark.parametrize("path", RAW_FILES, ids=[p.name for p in RAW_FILES])
def test_the_data_has_not_drifted_from_the_training_profile(path: Path) -> None:
    if not PROFILE.exists():
        pytest.skip("no training profile yet: the first `make repro` writes models/training_profile.json")
    limits = params.load("drift", ROOT / "params.yaml")
    reference, frame = drift.read_profile(PROFILE), prepare.read(path)
    rows = drift.compare(reference, frame, limits["max_psi"])
    gaps = drift.missing(reference, frame, limits["max_missing_shift"])
    if problems := drift.failures(rows, gaps):
        tables = f"{drift.table(rows)}\n\n{drift.missing_table(gaps)}"
        pytest.fail(f"{path.relative_to(ROOT)} has drifted from the training data: {'; '.join(problems)}\n{tables}",
                    pytrace=False)  # fmt: skip
