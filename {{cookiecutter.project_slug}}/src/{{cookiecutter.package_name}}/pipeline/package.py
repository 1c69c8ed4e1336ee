"""The `package` stage: derive and check the fast predictor, and write the evaluated model's lineage record.

It registers nothing: a registry shared by the team numbers versions once, when `make register` (CI on
the default branch) or a deploy asks it to; a stage every laptop re-runs would mint numbers per clone.
"""

from __future__ import annotations

import json
from pathlib import Path

import joblib

from ..contract.identity import Lineage
from ..contract.names import MODEL_NAME
from . import compile_fastpath, lineage


def package(
    *, model_path: Path, run_path: Path, metrics_path: Path, lineage_path: Path, held_out: Path, fast_path: Path
) -> Lineage:
    run = json.loads(run_path.read_text())
    # Checked on every held-out row and on rows drawn from the contract; the service checks the same rows at start.
    check_rows = compile_fastpath.held_out_rows(held_out) + compile_fastpath.contract_rows()
    model = joblib.load(model_path)
    entry = compile_fastpath.write(model, check_rows, fast_path)
    metrics = json.loads(metrics_path.read_text())
    # What decides a binary model's label is what the fitted model carries (FixedThresholdClassifier.threshold).
    threshold = getattr(model, "threshold", None)
    record = lineage.build(
        model_path=model_path, run_id=run["run_id"], metrics=metrics, fast_path=entry, decision_threshold=threshold
    )
    lineage.write(record, lineage_path)
    print(f"package: {MODEL_NAME} version {record.version} ({entry['serving']} serves) -> {lineage_path}")
    return record


def main(*, model: Path, run: Path, metrics: Path, lineage: Path, data: Path, fast_path: Path) -> None:
    package(
        model_path=model, run_path=run, metrics_path=metrics, lineage_path=lineage, held_out=data, fast_path=fast_path
    )
