"""Drift of new data from the data the model was trained on: PSI of the present values, and the missing share.

The `train` stage writes a profile of its training data per feature (bin edges, the share of the present
values in each bin, how many were present, the share missing); new data is compared with that profile,
so the check needs neither the training rows nor a server. Missing values are judged apart from the
distribution: a bin of a few percent that empties would otherwise cross the PSI limit on its own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .schema import CATEGORICAL, FEATURE_NAMES, NUMERIC, TARGET, allowed_values, category_text

# Jeffreys smoothing: half a row added to every bin of each side before the index is taken, so an empty
# bin gives a large but finite index that shrinks with the rows behind it, not a fixed floor that
# turns one empty bin of a small window into drift.
PSEUDO_COUNT = 0.5
MISSING_SPREAD = 3  # standard errors of a window's missing share that chance alone may add to max_shift


def _numeric_counts(values: pd.Series, edges: list[float]) -> list[int]:
    present = values.dropna().to_numpy(dtype=float)
    return [int(c) for c in np.histogram(present, bins=[-math.inf, *edges, math.inf])[0]]


def _categorical_counts(values: pd.Series, categories: list[str]) -> list[int]:
    text = category_text(values)
    return [int((text == c).sum()) for c in categories]


def counts(reference: dict[str, Any], values: pd.Series) -> list[int]:
    """How many of the present `values` fall in each bin of one column's reference."""
    if reference["kind"] == "numeric":
        return _numeric_counts(pd.to_numeric(values, errors="coerce"), reference["edges"])
    return _categorical_counts(values, reference["categories"])


def shares(reference: dict[str, Any], values: pd.Series) -> list[float]:
    """The share of the present `values` in each bin of one column's reference (a value outside every bin,
    an unknown category, counts as present but in no bin, so the shares then sum to less than 1)."""
    present = max(int(values.notna().sum()), 1)
    return [c / present for c in counts(reference, values)]


def missing_share(values: pd.Series) -> float:
    return float(values.isna().mean()) if len(values) else 0.0


def spec(values: pd.Series, categories: tuple[str, ...] | None, bins: int) -> dict[str, Any]:
    """One column's reference: its categories (or quantile bin edges), the share of present values in each,
    how many values were present (the smoothing weighs by it) and the share missing."""
    if categories is not None:
        column: dict[str, Any] = {"kind": "categorical", "categories": list(categories)}
    else:
        quantiles = values.dropna().quantile(np.linspace(0, 1, bins + 1)[1:-1]).tolist()
        column = {"kind": "numeric", "edges": sorted(set(quantiles))}
    column["shares"] = shares(column, values)
    column["present"] = int(values.notna().sum())
    column["missing"] = missing_share(values)
    return column


def profile(frame: pd.DataFrame, bins: int) -> dict[str, Any]:
    """Bin edges (numeric: quantiles of the training data) and the share of present values in each bin, per
    feature; the target's too, where the frame has it (the served predictions are compared with it)."""
    features = {name: spec(frame[name], allowed_values(name), bins) for name in (*NUMERIC, *CATEGORICAL)}
    reference: dict[str, Any] = {"rows": len(frame), "features": features}
    if TARGET in frame:
        reference["target"] = spec(frame[TARGET], allowed_values(TARGET), bins)
    return reference


def _smoothed(counts: Sequence[float], present: float) -> list[float]:
    return [(c + PSEUDO_COUNT) / (present + PSEUDO_COUNT * len(counts)) for c in counts]


def psi(expected: Sequence[float], expected_rows: float, actual: Sequence[float], actual_rows: float) -> float:
    """The population stability index of two sets of bin counts, each smoothed by its own number of rows."""
    e, a = _smoothed(expected, expected_rows), _smoothed(actual, actual_rows)
    return float(sum((q - p) * math.log(q / p) for p, q in zip(e, a, strict=True)))


def index(reference: dict[str, Any], values: pd.Series) -> float:
    """PSI of the present `values` against one column's reference, rounded as the reports show it."""
    expected = [s * reference["present"] for s in reference["shares"]]
    return round(psi(expected, reference["present"], counts(reference, values), int(values.notna().sum())), 4)


def chance(reference: dict[str, Any], rows: int) -> float:
    """The PSI two samples of one distribution show on average: (bins - 1) * (1/rows + 1/training rows).

    n * PSI between samples of one distribution tends to a chi-squared with bins - 1 degrees of freedom
    (scaled by both sizes), so a window of 100 rows shows about 0.13 over ten bins with no drift at all.
    The limit is `max_psi` above this, so a small window is not an alarm and a large one is judged as usual.
    Only the bins training filled count: a category training never saw stays empty in a window by chance.
    """
    bins = sum(1 for share in reference["shares"] if share > 0)
    return round(max(bins - 1, 0) * (1 / max(rows, 1) + 1 / max(reference["present"], 1)), 4)


def judge(name: str, reference: dict[str, Any], values: pd.Series, max_psi: float) -> dict[str, Any]:
    """One feature's (or the predictions') row: PSI, the level chance gives at this window, and the verdict."""
    value, by_chance = index(reference, values), chance(reference, int(values.notna().sum()))
    return {"feature": name, "psi": value, "max_psi": max_psi, "chance": by_chance,
            "limit": round(max_psi + by_chance, 4), "drifted": value > max_psi + by_chance}  # fmt: skip


def compare(
    reference: dict[str, Any], frame: pd.DataFrame, max_psi: float, features: Iterable[str] = FEATURE_NAMES
) -> list[dict[str, Any]]:
    """One row per feature: its PSI against the reference, and whether it stays under `max_psi` above chance."""
    return [judge(name, reference["features"][name], frame[name], max_psi) for name in features]


def missing(
    reference: dict[str, Any], frame: pd.DataFrame, max_shift: float, features: Iterable[str] = FEATURE_NAMES
) -> list[dict[str, Any]]:
    """One row per feature: its missing share against training's, and whether it moved by more than `max_shift`
    above what chance gives a window this size (either way: a field that stops arriving, or one an upstream
    change now fills in). A 30% share shows 4.6 points either side in 100 rows by chance alone."""
    rows = []
    for name in features:
        served, training = round(missing_share(frame[name]), 4), round(reference["features"][name]["missing"], 4)
        by_chance = round(MISSING_SPREAD * math.sqrt(training * (1 - training) / max(len(frame), 1)), 4)
        rows.append({"feature": name, "missing": served, "training": training, "max_shift": max_shift,
                     "chance": by_chance, "limit": round(max_shift + by_chance, 4),
                     "shifted": abs(served - training) > max_shift + by_chance})  # fmt: skip
    return rows


def failures(drifted: list[dict[str, Any]], gaps: list[dict[str, Any]]) -> list[str]:
    """One line per feature past a limit: its PSI, or its missing share against training's."""
    lines = [f"{r['feature']} drifted: PSI {r['psi']} > {r['limit']} ({r['max_psi']} + {r['chance']} by chance)"
             for r in drifted if r["drifted"]]  # fmt: skip
    lines += [f"{r['feature']}: {r['missing']:.1%} missing against {r['training']:.1%} in training "
              f"(limit ±{r['limit'] * 100:.1f} points: {r['max_shift'] * 100:.1f} + {r['chance'] * 100:.1f} by chance)"
              for r in gaps if r["shifted"]]  # fmt: skip
    return lines


def table(rows: list[dict[str, Any]]) -> str:
    """The per-feature PSI as a Markdown table, worst first."""
    lines = ["| feature | PSI | by chance | limit | |", "|---|---:|---:|---:|---|"]
    for row in sorted(rows, key=lambda r: -r["psi"]):
        verdict = "DRIFT" if row["drifted"] else "ok"
        lines.append(f"| {row['feature']} | {row['psi']:.4f} | {row['chance']:.4f} | {row['limit']} | {verdict} |")
    return "\n".join(lines)


def missing_table(rows: list[dict[str, Any]]) -> str:
    """The per-feature missing share against training's as a Markdown table, largest change first."""
    lines = ["| feature | missing | in training | limit | |", "|---|---:|---:|---:|---|"]
    for row in sorted(rows, key=lambda r: -abs(r["missing"] - r["training"])):
        lines.append(
            f"| {row['feature']} | {row['missing']:.1%} | {row['training']:.1%} | ±{row['limit'] * 100:.1f} points "
            f"| {'SHIFT' if row['shifted'] else 'ok'} |"
        )
    return "\n".join(lines)


def write_profile(frame: pd.DataFrame, bins: int, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(profile(frame, bins), indent=2) + "\n")


def _upgraded(column: dict[str, Any], rows: int) -> dict[str, Any]:
    """A column of a profile written before the missing share was kept apart: its last bin held the
    missing rows, and every share was of all rows."""
    if "missing" in column:
        return column
    *bins, gone = column["shares"]
    present = 1.0 - gone
    scaled = [s / present if present else 0.0 for s in bins]
    return column | {"shares": scaled, "present": round(rows * present), "missing": gone}


def read_profile(path: Path) -> dict[str, Any]:
    reference = dict(json.loads(path.read_text()))
    rows = reference["rows"]
    reference["features"] = {name: _upgraded(column, rows) for name, column in reference["features"].items()}
    if "target" in reference:
        reference["target"] = _upgraded(reference["target"], rows)
    return reference
