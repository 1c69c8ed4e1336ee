"""Derive the fast predictor (contract/fastpath.py) from the fitted pipeline, and check it, at packaging.

It reads what the fitted steps hold; a step of a kind it does not know gives no fast path (the file
says why, and the pipeline serves) rather than an approximate one. Private attributes of
HistGradientBoosting (`_predictors`, `_baseline_prediction`, `_loss`) are read here only, once: a
scikit-learn that renames them makes the pipeline serve, and the equivalence check catches any other change.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..contract.artifact import sha256_file
from ..contract.dataset import DATASET
from ..contract.fastpath import FAST_PATH_FILE, FORMAT, FastPredictor, disagreement
from ..contract.schema import FEATURE_NAMES, FEATURES, allowed_values, to_frame, value_range
from . import features

# The link from raw scores to answers, by the estimator's loss: the ones the fast path computes.
LINKS = {"HalfSquaredError": "identity", "HalfBinomialLoss": "expit", "HalfMultinomialLoss": "softmax"}
CONTRACT_ROWS = 500  # drawn from the contract, besides every held-out row


class Unsupported(Exception):
    """A step of the fitted pipeline the fast path does not know; the message names it."""


def derive(fitted: features.Model) -> dict[str, Any]:
    """The fast predictor's specification (without its check rows), or Unsupported."""
    pipeline = features.pipeline_of(fitted)
    if type(pipeline) is not Pipeline or len(pipeline.steps) != 2:
        raise Unsupported(f"a {type(pipeline).__name__} that is not (preprocessing, estimator)")
    (_, preprocess), (_, estimator) = pipeline.steps
    if type(preprocess) is not ColumnTransformer:
        raise Unsupported(f"preprocessing {type(preprocess).__name__}, not a ColumnTransformer")
    blocks = [block for name, step, columns in preprocess.transformers_ for block in _blocks(name, step, columns)]
    spec = _trees(estimator)
    width = sum(len(b["columns"]) if b["kind"] == "numeric" else len(b["categories"]) for b in blocks)
    if width != estimator.n_features_in_:
        raise Unsupported(f"preprocessing gives {width} columns, the estimator takes {estimator.n_features_in_}")
    classes = [str(c) for c in fitted.classes_] if hasattr(fitted, "classes_") else None
    return spec | {
        "format": FORMAT,
        "blocks": blocks,
        "classes": classes,
        "threshold": getattr(fitted, "threshold", None),
    }


def _steps(name: str, step: Any) -> tuple[SimpleImputer | None, list[Any]]:
    steps = [s for _, s in step.steps] if type(step) is Pipeline else [step]
    imputer = steps.pop(0) if steps and type(steps[0]) is SimpleImputer else None
    if imputer is not None and (not _is_nan(imputer.missing_values) or imputer.add_indicator):
        raise Unsupported(f"the imputer of transformer {name!r} treats other values than NaN as missing")
    return imputer, steps


def _blocks(name: str, step: Any, selection: Any) -> list[dict[str, Any]]:
    columns = list(selection) if isinstance(selection, (list, tuple)) else None
    if columns is None or not all(isinstance(c, str) for c in columns):
        raise Unsupported(f"transformer {name!r} selecting columns other than by a list of names")
    if not columns or (isinstance(step, str) and step == "drop"):
        return []  # nothing to transform: a fitted ColumnTransformer keeps such a step unfitted
    if isinstance(step, str):
        raise Unsupported(f"transformer {name!r} is {step!r}")
    imputer, steps = _steps(name, step)
    fills = list(imputer.statistics_) if imputer is not None else [None] * len(columns)
    if len(fills) != len(columns):
        raise Unsupported(f"the imputer of transformer {name!r} dropped an empty column")
    kinds = [type(s).__name__ for s in steps]
    if kinds == ["OneHotEncoder"]:
        return [
            _one_hot(name, steps[0], column, fill, j)
            for j, (column, fill) in enumerate(zip(columns, fills, strict=True))
        ]
    if kinds in ([], ["StandardScaler"]):
        scaler = steps[0] if steps else StandardScaler(with_mean=False, with_std=False)
        if any(f is not None and not math.isfinite(f) for f in fills):
            raise Unsupported(f"the imputer of transformer {name!r} has no value for a column")
        zero, one = [0.0] * len(columns), [1.0] * len(columns)
        return [{
            "kind": "numeric",
            "columns": columns,
            "fill": [math.nan if f is None else float(f) for f in fills],
            "mean": [float(m) for m in scaler.mean_] if scaler.with_mean else zero,
            "scale": [float(s) for s in scaler.scale_] if scaler.with_std else one,
        }]  # fmt: skip
    raise Unsupported(f"transformer {name!r} is {' -> '.join(['SimpleImputer', *kinds] if imputer else kinds)}")


def _one_hot(name: str, encoder: OneHotEncoder, column: str, fill: Any, j: int) -> dict[str, Any]:
    if (
        encoder.drop is not None
        or encoder.handle_unknown != "ignore"
        or encoder.min_frequency
        or encoder.max_categories
    ):
        raise Unsupported(f"the one-hot encoder of transformer {name!r} drops, errs on or groups categories")
    categories = encoder.categories_[j]
    if not all(isinstance(c, str) for c in categories):
        raise Unsupported(f"the one-hot encoder of transformer {name!r} has categories that are not strings")
    # What to_frame makes of a null in this column: NaN (the imputer fills it), or a string it encodes.
    null_as = to_frame([dict.fromkeys(FEATURE_NAMES)])[column].iloc[0]
    return {
        "kind": "one-hot",
        "column": column,
        "categories": list(categories),
        "fill": None if fill is None else str(fill),
        "null_as": None if _is_nan(null_as) else str(null_as),
    }


def _is_nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _trees(estimator: Any) -> dict[str, Any]:
    if type(estimator) not in (HistGradientBoostingClassifier, HistGradientBoostingRegressor):
        raise Unsupported(f"estimator {type(estimator).__name__}")
    try:
        predictors, baseline, loss = estimator._predictors, estimator._baseline_prediction, estimator._loss
    except AttributeError as error:
        raise Unsupported(f"this scikit-learn's {type(estimator).__name__} has no {error.name}") from None
    if getattr(estimator, "_preprocessor", None) is not None or np.any(getattr(estimator, "is_categorical_", None)):
        raise Unsupported("the estimator's own categorical features")
    if type(loss).__name__ not in LINKS:
        raise Unsupported(f"loss {type(loss).__name__}")
    columns: dict[str, list[Any]] = {k: [] for k in ("feature", "threshold", "missing_left", "left", "value")}
    roots, depth = [], 0
    for iteration in predictors:
        for predictor in iteration:  # class-minor, as the estimator adds them
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise Unsupported("a categorical split")
            roots.append(len(columns["value"]))
            depth = max(depth, int(nodes["depth"].max()))
            _append(nodes, columns)
    return {
        "kind": f"{type(estimator).__name__} trees on numpy",
        "link": LINKS[type(loss).__name__],
        "baseline": [float(b) for b in np.ravel(baseline)],
        "trees": columns | {"roots": roots, "depth": depth},
    }


def _append(nodes: np.ndarray, columns: dict[str, list[Any]]) -> None:
    """One tree's nodes, renumbered breadth first so that a node's right child follows its left one
    (the walk then reads one child index, not two); a leaf leads to itself, whatever the value."""
    offset = len(columns["value"])
    order, place = [0], {0: offset}
    for i in order:  # grows while it is read: breadth first
        if not nodes[i]["is_leaf"]:
            for child in (int(nodes[i]["left"]), int(nodes[i]["right"])):
                place[child] = offset + len(order)
                order.append(child)
    for i in order:
        node, leaf = nodes[i], bool(nodes[i]["is_leaf"])
        columns["feature"].append(0 if leaf else int(node["feature_idx"]))
        columns["threshold"].append(math.inf if leaf else float(node["num_threshold"]))
        columns["missing_left"].append(True if leaf else bool(node["missing_go_to_left"]))
        columns["left"].append(place[i] if leaf else place[int(node["left"])])
        columns["value"].append(float(node["value"]) if leaf else 0.0)


def contract_rows(count: int = CONTRACT_ROWS, seed: int = 0) -> list[dict[str, Any]]:
    """Rows the contract accepts, seeded: every category, nulls where allowed, each range's ends and inside."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        row: dict[str, Any] = {}
        for name in FEATURE_NAMES:
            values, column = allowed_values(name), DATASET.columns[name]
            low, high = value_range(name) or (-1e6, 1e6)
            pick = rng.random()
            if column.nullable and pick < 0.1:
                row[name] = None
            elif values is not None:
                row[name] = str(values[rng.integers(len(values))])
            else:
                row[name] = float(low if pick < 0.2 else high if pick < 0.3 else rng.uniform(low, high))
        rows.append(row)
    return rows


def held_out_rows(path: Path) -> list[dict[str, Any]]:
    """Every held-out row as a request carries it; a sensitive column's values are drawn from the
    contract instead, so that the file (and the image that ships it) holds none of them."""
    frame = FEATURES.validate(pd.read_csv(path))
    rows: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row, drawn in zip(rows, contract_rows(len(rows), seed=1), strict=True):
        row.update({name: drawn[name] for name in DATASET.sensitive if name in drawn})
    return rows


def write(fitted: features.Model, check_rows: list[dict[str, Any]], path: Path) -> dict[str, str]:
    """Write the fast-path file beside the artifact; its entry in the lineage record.

    Refuses (SystemExit, one line) a fast path that disagrees with the pipeline; a pipeline with a step
    it does not know gets a file that says so, and the pipeline serves.
    """
    try:
        spec: dict[str, Any] = derive(fitted) | {"check_rows": check_rows}
    except Unsupported as unknown:
        spec = {"format": FORMAT, "kind": None, "reason": f"the fast path does not know {unknown}"}
        print(f"package: serving the pipeline: {spec['reason']}")
    text = json.dumps(spec, sort_keys=True, allow_nan=True)
    if spec["kind"] is not None:
        problem = disagreement(FastPredictor(json.loads(text)), fitted, check_rows)
        if problem:
            raise SystemExit(f"error: package: the fast path disagrees with the pipeline: {problem}; nothing packaged")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    serving = "pipeline" if spec["kind"] is None else "fast path"
    return {"file": FAST_PATH_FILE, "sha256": sha256_file(path), "serving": serving}
