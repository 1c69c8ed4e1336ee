"""The `validate` stage: the schema and the data-quality rules of params.yaml, as a readable report.

Every failure names the file, the column, the check and the rows (numbered as data rows, 1 = the first
row under the header), so whoever reads the CI log knows what to fix without a traceback.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa

from ..contract import params
from ..contract.schema import CLASSIFICATION, FEATURE_NAMES, TARGET, TRAINING
from .prepare import raw_tables, read

SHOWN_ROWS = 10


@dataclass
class Finding:
    check: str
    column: str | None
    detail: str
    rows: list[int] = field(default_factory=list)

    def line(self) -> str:
        where = f"column {self.column!r}" if self.column else "table"
        rows = ""
        if self.rows:
            more = f" and {len(self.rows) - SHOWN_ROWS} more" if len(self.rows) > SHOWN_ROWS else ""
            rows = f" at rows {', '.join(map(str, self.rows[:SHOWN_ROWS]))}{more}"
        return f"{where}: {self.check}: {self.detail}{rows}"


def schema_findings(frame: pd.DataFrame) -> list[Finding]:
    try:
        TRAINING.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        findings = []
        for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
            rows = sorted(int(i) + 1 for i in group["index"].dropna())
            values = ", ".join(repr(v) for v in group["failure_case"].drop_duplicates().head(5))
            findings.append(
                Finding("schema", None if pd.isna(column) else str(column), f"{check} failed for {values}", rows)
            )
        return findings
    return []


def rule_findings(frame: pd.DataFrame, rules: dict[str, Any]) -> list[Finding]:
    findings = []
    if len(frame) < rules["min_rows"]:
        findings.append(Finding("min_rows", None, f"{len(frame)} rows, fewer than {rules['min_rows']}"))
    for column in (c for c in FEATURE_NAMES if c in frame):
        share = float(frame[column].isna().mean())
        if share > rules["max_null_fraction"]:
            rows = [int(i) + 1 for i in frame.index[frame[column].isna()]]
            findings.append(
                Finding("max_null_fraction", column, f"{share:.1%} null, above {rules['max_null_fraction']:.1%}", rows)
            )
    duplicated = frame.duplicated(keep="first")
    if float(duplicated.mean()) > rules["max_duplicate_fraction"]:
        rows = [int(i) + 1 for i in frame.index[duplicated]]
        findings.append(
            Finding(
                "max_duplicate_fraction",
                None,
                f"{duplicated.mean():.1%} duplicate rows, above {rules['max_duplicate_fraction']:.1%}",
                rows,
            )
        )
    if CLASSIFICATION and TARGET in frame and len(frame):
        shares = frame[TARGET].value_counts(normalize=True)
        for label, share in shares.items():
            if share < rules["min_class_fraction"]:
                findings.append(
                    Finding(
                        "min_class_fraction",
                        TARGET,
                        f"class {label!r} is {share:.1%} of rows, below {rules['min_class_fraction']:.1%}",
                    )
                )
    return findings


def check_file(path: Path, rules: dict[str, Any]) -> list[Finding]:
    # Read everything as text-or-number as pandas sees it; the schema decides what is acceptable.
    frame = read(path).reset_index(drop=True)
    if TARGET in frame:  # rows without a label are the prepare stage's to drop (a raw export may hold them)
        frame = frame.dropna(subset=[TARGET])
    return schema_findings(frame) + rule_findings(frame, rules)


def validate(files: list[Path], rules: dict[str, Any], report: Path | None = None) -> bool:
    """Check each file; write the JSON report; print a readable one. True when everything passed."""
    results = {str(path): check_file(path, rules) for path in files}
    passed = not any(results.values())
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        body = {"passed": passed, "files": {p: [asdict(f) for f in fs] for p, fs in results.items()}}
        report.write_text(json.dumps(body, indent=2) + "\n")
    for path, findings in results.items():
        print(f"validate: {path}: {'ok' if not findings else f'{len(findings)} problem(s)'}")
        for finding in findings:
            print(f"  - {finding.line()}")
    return passed


def main(*, data: Path, report: Path | None = None) -> int:
    """Validate a table, or every CSV and Parquet table of a folder, by the `validate` section of params.yaml."""
    files = raw_tables(data) if data.is_dir() else [data]
    if not files:
        print(f"error: no CSV or Parquet files in {data}", file=sys.stderr)
        return 1
    return 0 if validate(files, params.load("validate"), report) else 1
