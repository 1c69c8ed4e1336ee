"""The monitoring report's figures, as PNG files beside it: PSI per feature, and each drifted column's shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import drift


def draw(result: dict[str, Any], served: pd.DataFrame, reference: dict[str, Any], folder: Path) -> list[str]:
    """The file names written into `folder`, in the order the report shows them."""
    if not result["drift"]:
        return []
    import matplotlib

    matplotlib.use("Agg")  # no display on a runner
    import matplotlib.pyplot as plt

    names = []
    rows = sorted(result["drift"], key=lambda r: r["psi"])
    figure, axes = plt.subplots(figsize=(7, 0.4 * len(rows) + 1.2))
    axes.barh(
        [r["feature"] for r in rows],
        [r["psi"] for r in rows],
        color=["#c0392b" if r["drifted"] else "#4c72b0" for r in rows],
    )
    # Each row's own limit: max_psi above what chance gives at the rows it had (contract/drift.py).
    axes.scatter([r["limit"] for r in rows], [r["feature"] for r in rows], marker="|", s=300, color="black",
                 label="limit")  # fmt: skip
    axes.set_xlabel("PSI against the training profile")
    axes.legend()
    figure.tight_layout()
    figure.savefig(folder / "psi.png", dpi=100)
    plt.close(figure)
    names.append("psi.png")
    for row in (r for r in result["drift"] if r["drifted"]):
        name = row["feature"]
        column = reference["target"] if name == "(prediction)" else reference["features"][name]
        values = served["prediction" if name == "(prediction)" else name]
        bins = column["categories"] if column["kind"] == "categorical" else [
            f"≤{e:.4g}" for e in column["edges"]] + [">"]  # fmt: skip
        figure, axes = plt.subplots(figsize=(7, 3.5))
        positions = range(len(bins))
        axes.bar([p - 0.2 for p in positions], column["shares"], width=0.4, label="training")
        axes.bar([p + 0.2 for p in positions], drift.shares(column, values), width=0.4, label="served")
        axes.set_xticks(list(positions), bins, rotation=45, ha="right")
        axes.set_ylabel("share of the present values")
        axes.set_title(f"{name}: PSI {row['psi']}")
        axes.legend()
        figure.tight_layout()
        file = f"drift-{name.strip('()')}.png"
        figure.savefig(folder / file, dpi=100)
        plt.close(figure)
        names.append(file)
    return names
