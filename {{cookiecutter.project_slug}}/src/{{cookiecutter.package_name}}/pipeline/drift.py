"""Drift of new data from the data the model was trained on, as a population stability index per feature.

The `train` stage writes a profile of its training data (bin edges and shares per feature); new data
is compared with that profile, so the check needs neither the training rows nor a server.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..contract.schema import CATEGORICAL, FEATURE_NAMES, NUMERIC, TARGET, allowed_values, category_text

MISSING = "<missing>"
# Floor for an empty bin, so that a category never seen on one side gives a large but finite index.
EPSILON = 1e-4


def _numeric_shares(values: pd.Series, edges: list[float]) -> list[float]:
    present = values.dropna().to_numpy(dtype=float)
    counts = np.histogram(present, bins=[-math.inf, *edges, math.inf])[0].tolist()
    counts.append(int(values.isna().sum()))
    total = max(len(values), 1)
    return [c / total for c in counts]


def _categorical_shares(values: pd.Series, categories: list[str]) -> list[float]:
    total = max(len(values), 1)
    text = category_text(values)
    shares = [float((text == c).sum()) / total for c in categories]
    return [*shares, float(values.isna().sum()) / total]


def spec(values: pd.Series, categories: tuple[str, ...] | None, bins: int) -> dict[str, Any]:
    """One column's reference: its categories (or quantile bin edges) and the share of rows in each."""
    if categories is not None:
        return {
            "kind": "categorical",
            "categories": list(categories),
            "shares": _categorical_shares(values, list(categories)),
        }
    quantiles = values.dropna().quantile(np.linspace(0, 1, bins + 1)[1:-1]).tolist()
    edges = sorted(set(quantiles))
    return {"kind": "numeric", "edges": edges, "shares": _numeric_shares(values, edges)}


def profile(frame: pd.DataFrame, bins: int) -> dict[str, Any]:
    """Bin edges (numeric: quantiles of the training data) and the share of rows in each bin, per feature;
    the target's too, where the frame has it (the served predictions are compared with it)."""
    features = {name: spec(frame[name], allowed_values(name), bins) for name in (*NUMERIC, *CATEGORICAL)}
    reference: dict[str, Any] = {"rows": len(frame), "features": features}
    if TARGET in frame:
        reference["target"] = spec(frame[TARGET], allowed_values(TARGET), bins)
    return reference


def psi(expected: list[float], actual: list[float]) -> float:
    return float(
        sum((a - e) * math.log(a / e) for e, a in zip(map(_floor, expected), map(_floor, actual), strict=True))
    )


def _floor(share: float) -> float:
    return max(share, EPSILON)


def shares(reference: dict[str, Any], values: pd.Series) -> list[float]:
    """The share of `values` in each bin of one column's reference."""
    if reference["kind"] == "numeric":
        return _numeric_shares(pd.to_numeric(values, errors="coerce"), reference["edges"])
    return _categorical_shares(values, reference["categories"])


def compare(
    reference: dict[str, Any], frame: pd.DataFrame, max_psi: float, features: Iterable[str] = FEATURE_NAMES
) -> list[dict[str, Any]]:
    """One row per feature: its PSI against the reference, and whether it stays under `max_psi`."""
    rows = []
    for name in features:
        column = reference["features"][name]
        value = round(psi(column["shares"], shares(column, frame[name])), 4)
        rows.append({"feature": name, "psi": value, "max_psi": max_psi, "drifted": value > max_psi})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The per-feature result as a Markdown table, worst first."""
    lines = ["| feature | PSI | limit | |", "|---|---:|---:|---|"]
    for row in sorted(rows, key=lambda r: -r["psi"]):
        lines.append(
            f"| {row['feature']} | {row['psi']:.4f} | {row['max_psi']} | {'DRIFT' if row['drifted'] else 'ok'} |"
        )
    return "\n".join(lines)


def write_profile(frame: pd.DataFrame, bins: int, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(profile(frame, bins), indent=2) + "\n")


def read_profile(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))
