"""The task's quality metrics for labels and answers: the evaluate stage, the gates and `make monitor` share them."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
from sklearn import metrics as skm

from .schema import CLASSIFICATION, TASK


def metric_values(
    actual: Any, predicted: Any, probabilities: np.ndarray | None = None, classes: list[str] | None = None
) -> dict[str, float]:
    """The task's metrics for labels and answers: what this stage reports, and `make monitor` on live traffic.

    Classes compare as text (a CSV may read them as numbers). `probabilities` (a column per class, in
    `classes`' order; the second is a binary task's positive class) give roc_auc, which is left out
    without them or when the labels hold a single class.
    """
    if not CLASSIFICATION:
        a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
        values = {"rmse": float(np.sqrt(skm.mean_squared_error(a, p))), "mae": skm.mean_absolute_error(a, p),
                  "r2": skm.r2_score(a, p)}  # fmt: skip
        return {name: round(float(v), 6) for name, v in values.items()}
    a, p = np.asarray(actual).astype(str), np.asarray(predicted).astype(str)
    if TASK == "binary":
        assert classes is not None, "a binary task's metrics name its positive class"
        # The positive class by `labels=`, not `pos_label=`, which raises on a window or slice where neither
        # the labels nor the answers hold it (a quiet day with no churn). What is then undefined (precision
        # with no positive answer, recall with no positive label) is left out, as roc_auc is, not scored 0.
        positive = {"labels": [classes[1]], "average": "macro", "zero_division": np.nan}
        values = {
            "accuracy": skm.accuracy_score(a, p),
            "f1": skm.f1_score(a, p, **positive),
            "precision": skm.precision_score(a, p, **positive),
            "recall": skm.recall_score(a, p, **positive),
        }
    else:
        values = {"accuracy": skm.accuracy_score(a, p), "f1_macro": skm.f1_score(a, p, average="macro")}
    if probabilities is not None and classes is not None and len(set(a)) > 1:
        with contextlib.suppress(ValueError):  # a class of the model absent from these labels: no one-vs-rest
            values["roc_auc"] = (
                skm.roc_auc_score(a == classes[1], probabilities[:, 1])
                if TASK == "binary"
                else skm.roc_auc_score(a, probabilities, multi_class="ovr", labels=classes)
            )
    return {name: round(float(v), 6) for name, v in values.items() if not np.isnan(v)}
