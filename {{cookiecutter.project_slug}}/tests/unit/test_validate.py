"""The validate stage's report on a file: what fails the contract or a rule, by the file's own row numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from {{ cookiecutter.package_name }}.contract import params
from {{ cookiecutter.package_name }}.contract.schema import EXAMPLE, FEATURE_NAMES, TARGET
from {{ cookiecutter.package_name }}.pipeline import prepare
from {{ cookiecutter.package_name }}.pipeline.validate import check_file

RULES = params.load("validate") | {"min_rows": 1, "max_duplicate_fraction": 1.0, "min_class_fraction": 0.0}


def test_rows_without_a_label_are_left_to_prepare_and_a_bad_labelled_row_is_named(tmp_path: Path) -> None:
    """A raw export may hold rows whose outcome is not known yet: prepare drops them, so they fail nothing."""
    rows = pd.DataFrame([EXAMPLE] * 6)
    rows.loc[[1, 3], TARGET] = None
    path = tmp_path / "raw.csv"
    rows.to_csv(path, index=False)
    assert check_file(path, RULES) == []
    rows.loc[4, FEATURE_NAMES[0]] = "not in the contract" if isinstance(EXAMPLE[FEATURE_NAMES[0]], str) else 1e12
    rows.to_csv(path, index=False)
    (finding,) = check_file(path, RULES)
    assert (finding.check, finding.column, finding.rows) == ("schema", FEATURE_NAMES[0], [5])


def test_a_parquet_export_is_checked_as_a_csv_is(tmp_path: Path) -> None:
    """`make adopt` takes Parquet into data/raw/: the data stage lists it and judges its rows the same way."""
    rows = pd.DataFrame([EXAMPLE] * 6)
    rows.loc[2, FEATURE_NAMES[0]] = "not in the contract" if isinstance(EXAMPLE[FEATURE_NAMES[0]], str) else 1e12
    (tmp_path / "notes.txt").write_text("not a table\n")
    rows.to_csv(tmp_path / "export.csv", index=False)
    rows.to_parquet(tmp_path / "export.parquet", index=False)
    assert [p.name for p in prepare.raw_tables(tmp_path)] == ["export.csv", "export.parquet"]
    findings = [check_file(tmp_path / name, RULES) for name in ("export.csv", "export.parquet")]
    assert [[(f.check, f.column, f.rows) for f in found] for found in findings] == [
        [("schema", FEATURE_NAMES[0], [3])]
    ] * 2
