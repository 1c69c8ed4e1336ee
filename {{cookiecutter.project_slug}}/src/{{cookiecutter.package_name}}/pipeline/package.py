"""The `package` stage: write the evaluated model's lineage record.

It registers nothing: a registry shared by the team numbers versions once, when `make register` (CI on
the default branch) or a deploy asks it to; a stage every laptop re-runs would mint numbers per clone.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..contract.artifact import model_version
from ..contract.names import MODEL_NAME
from . import lineage


def package(*, model_path: Path, run_path: Path, metrics_path: Path, lineage_path: Path) -> dict[str, object]:
    run = json.loads(run_path.read_text())
    record = lineage.build(model_path=model_path, run_id=run["run_id"], metrics=json.loads(metrics_path.read_text()))
    lineage.write(record, lineage_path)
    print(f"package: {MODEL_NAME} version {model_version(record['artifact']['sha256'])} -> {lineage_path}")
    return record


def main(*, model: Path, run: Path, metrics: Path, lineage: Path) -> None:
    package(model_path=model, run_path=run, metrics_path=metrics, lineage_path=lineage)
