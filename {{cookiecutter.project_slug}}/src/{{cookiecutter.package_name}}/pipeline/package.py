"""The `package` stage: register the evaluated model in MLflow and write its lineage record."""

from __future__ import annotations

import json
from pathlib import Path

from ..contract.names import MODEL_NAME
from . import lineage, tracking


def package(*, model_path: Path, run_path: Path, metrics_path: Path, lineage_path: Path) -> dict[str, object]:
    run = json.loads(run_path.read_text())
    version = tracking.register(run["model_uri"], MODEL_NAME)
    record = lineage.build(
        model_path=model_path,
        run_id=run["run_id"],
        registry_version=version,
        metrics=json.loads(metrics_path.read_text()),
    )
    lineage.write(record, lineage_path)
    tracking.tag_version(MODEL_NAME, version, record)
    print(f"package: {MODEL_NAME} version {version}, sha256 {record['artifact']['sha256'][:12]}… -> {lineage_path}")
    return record


def main(*, model: Path, run: Path, metrics: Path, lineage: Path) -> None:
    package(model_path=model, run_path=run, metrics_path=metrics, lineage_path=lineage)
