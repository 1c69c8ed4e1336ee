"""The `evaluate` stage: held-out metrics, DVC plots, and the quality gate of params.yaml."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from ..contract import params
from ..contract.predict import predictions
from ..contract.quality import metric_values
from ..contract.schema import CLASSIFICATION, TARGET, TASK, TRAINING, to_records


def score(model: Any, frame: pd.DataFrame) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """Metrics and plot tables for one labelled frame, scored as the service answers it.

    `model` is anything that serves (the pipeline or the fast predictor). The rows go in as a client sends
    them and the answers come out of contract/predict.py, the one function every way of serving answers
    through, so the metrics the gates judge are those of the answers served, decision threshold included.
    """
    frame = TRAINING.validate(frame)
    actual = frame[TARGET]
    answers = [answer.model_dump() for answer in predictions(model, to_records(frame))]
    predicted = np.asarray([answer["prediction"] for answer in answers])
    if CLASSIFICATION:
        classes = [str(c) for c in model.classes_]
        probabilities = np.asarray([[answer["probabilities"][c] for c in classes] for answer in answers])
        labels = actual.astype(str).to_numpy()
        if TASK == "binary":  # the positive class is the second one; its probability ranks the rows
            fpr, tpr, _ = skm.roc_curve(labels, probabilities[:, 1], pos_label=classes[1])
        else:
            onehot = label_binarize(labels, classes=classes)
            fpr, tpr, _ = skm.roc_curve(onehot.ravel(), probabilities.ravel())  # micro-average over classes
        plots = {
            "confusion.csv": pd.DataFrame({"actual": actual.to_numpy(), "predicted": predicted}),
            "roc.csv": pd.DataFrame({"fpr": fpr, "tpr": tpr}),
        }
        return metric_values(actual, predicted, probabilities, classes), plots
    residual = actual.to_numpy() - predicted
    plots = {"residuals.csv": pd.DataFrame({"predicted": predicted, "residual": residual})}
    return metric_values(actual, predicted), plots


# What `metrics` leaves out where the rows leave it undefined (no positive answer or label, a single class).
UNDEFINABLE = {"binary": {"f1", "precision", "recall", "roc_auc"}, "multiclass": {"roc_auc"}}.get(TASK, set())


def gate(values: dict[str, float], thresholds: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    """Each threshold of params.yaml: `min` metrics must reach it, `max` metrics must stay under it; a gated
    metric these rows leave undefined fails (a model that never answers the positive class has no precision)."""
    results: dict[str, dict[str, Any]] = {}
    for kind in ("min", "max"):
        for name, threshold in (thresholds.get(kind) or {}).items():
            if name not in values and name in UNDEFINABLE:
                results[name] = {"value": None, kind: threshold, "passed": False}
                continue
            if name not in values:
                raise SystemExit(f"error: params.yaml evaluate.{kind}.{name}: no such metric; known: {sorted(values)}")
            passed = values[name] >= threshold if kind == "min" else values[name] <= threshold
            results[name] = {"value": values[name], kind: threshold, "passed": bool(passed)}
    return results


def evaluate(
    *, model: Any, test: Path, metrics_path: Path, gates_path: Path, plots: Path, thresholds: dict[str, Any]
) -> tuple[dict[str, float], bool]:
    values, tables = score(model, pd.read_csv(test))
    results = gate(values, thresholds)
    plots.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(plots / name, index=False)
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(values, indent=2) + "\n")
    passed = all(r["passed"] for r in results.values())
    gates_path.write_text(json.dumps({"passed": passed, "gates": results}, indent=2) + "\n")
    for name, r in results.items():
        bound = f">= {r['min']}" if "min" in r else f"<= {r['max']}"
        print(f"evaluate: {name} = {r['value']} (must be {bound}): {'pass' if r['passed'] else 'FAIL'}")
    return values, passed


def main(*, model: Path, data: Path, run: Path, metrics: Path, gates: Path, plots: Path) -> int:
    """Evaluate the artifact on held-out data, log the metrics to its MLflow run, apply the quality gate."""
    import joblib

    from . import tracking

    values, passed = evaluate(
        model=joblib.load(model),
        test=data,
        metrics_path=metrics,
        gates_path=gates,
        plots=plots,
        thresholds=params.load("evaluate"),
    )
    tracking.log_metrics(json.loads(run.read_text())["run_id"], values)
    if not passed:
        print("evaluate: the model fails the quality gate of params.yaml; it is not packaged.", file=sys.stderr)
    return 0 if passed else 1
