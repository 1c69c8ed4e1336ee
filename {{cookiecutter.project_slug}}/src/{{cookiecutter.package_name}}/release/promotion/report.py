"""The pull-request report: what this change does to the model, against what production runs.

Markdown, for one PR comment that CI edits on each push: the gate results, the metrics next to the
production model's, `dvc metrics diff` / `dvc params diff` against the base branch, the latency
benchmark and the evaluation plots as tables.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from ...contract import params
from ...pipeline.outputs import HELD_OUT, MODEL, TRAINING
from ..adapters import gitrepo
from ..environments import LAST
from ..errors import ReleaseError
from . import compare, pins

REPORTS = Path("reports")


def _read(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _dvc(*args: str) -> str:
    result = subprocess.run(["dvc", *args, "--md"], capture_output=True, text=True)
    return result.stdout.strip() or f"`dvc {' '.join(args)}`: {result.stderr.strip() or 'no changes'}"


def _markdown(frame: pd.DataFrame) -> str:
    header = [str(frame.index.name or ""), *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(map(str, [index, *row])) + " |"
        for index, row in zip(frame.index, frame.to_numpy(), strict=True)
    ]
    return "\n".join(lines)


def gates_section() -> list[str]:
    gates = _read(REPORTS / "gates.json")
    if gates is None:
        return ["Quality gate: not run (`make repro`)."]
    lines = [f"**Quality gate: {'passed' if gates['passed'] else 'FAILED'}**", "", "| metric | value | threshold | |"]
    lines.append("|---|---:|---:|---|")
    for name, r in gates["gates"].items():
        bound = f">= {r['min']}" if "min" in r else f"<= {r['max']}"
        lines.append(f"| {name} | {r['value']} | {bound} | {'pass' if r['passed'] else 'FAIL'} |")
    return lines


def production_section() -> list[str]:
    """This change's model against production's, by the comparison the gates use; the recorded metrics
    when the models cannot be scored here (no pipeline outputs, or DVC cannot reach production's data)."""
    current = compare.incumbent(LAST)
    if current is None:
        return [f"{LAST.capitalize()}: nothing runs in {LAST} yet."]
    try:
        found = compare.compare(
            joblib.load(MODEL), pd.read_csv(TRAINING), current, pd.read_csv(HELD_OUT), params.load("evaluate")
        )
        ours, theirs, basis = found.ours, found.theirs, f"scored on {found.basis}"
        verdict = f"worse beyond the tolerance on {', '.join(found.worse)}" if found.worse else "no regression"
    except (OSError, ReleaseError) as error:
        ours, theirs = _read(REPORTS / "metrics.json") or {}, current.metrics
        basis, verdict = f"recorded metrics: the models could not be scored here ({error})", "not compared"
    lines = [
        f"Against {LAST}, version {current.version} ({current.source}): {verdict}; {basis}.",
        "",
        f"| metric | this change | {LAST} | delta |",
        "|---|---:|---:|---:|",
    ]
    for name in sorted(set(ours) | set(theirs)):
        a, b = ours.get(name), theirs.get(name)
        delta = f"{a - b:+.4f}" if a is not None and b is not None else ""
        lines.append(f"| {name} | {a} | {b} | {delta} |")
    return lines


def plots_section() -> list[str]:
    lines: list[str] = []
    confusion = REPORTS / "plots" / "confusion.csv"
    if confusion.exists():
        frame = pd.read_csv(confusion)
        matrix = pd.crosstab(frame["actual"], frame["predicted"])
        lines += ["Confusion matrix (rows: actual, columns: predicted):", "", _markdown(matrix)]
    residuals = REPORTS / "plots" / "residuals.csv"
    if residuals.exists():
        summary = pd.read_csv(residuals)["residual"].describe(percentiles=[0.05, 0.5, 0.95]).round(2)
        lines += ["Residuals on held-out data:", "", _markdown(summary.to_frame().T)]
    return lines


def serving_section() -> list[str]:
    bench = _read(REPORTS / "serving_benchmark.json")
    if bench is None:
        return []
    lines = [
        "Predict path (`make test-performance`):",
        "",
        "| batch | p50 ms | p95 ms | rows/s |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {k.removeprefix('batch_')} | {v['p50_ms']} | {v['p95_ms']} | {v['rows_per_s']} |" for k, v in bench.items()
    ]
    return lines


def build(base: str) -> str:
    revisions = {f"the base branch (`{base}`)": base}
    serving = pins.read(LAST)
    if serving is not None:  # the commit that recorded the serving model's metrics and params
        source = serving.source_commit
        revisions = {f"{LAST} (`{source[:12]}`)": source} | revisions
    diffs = [
        [f"Metrics and params against {label}:", "", _dvc("metrics", "diff", rev), "", _dvc("params", "diff", rev)]
        for label, rev in revisions.items()
    ]
    sections = [
        ["## Model report"],
        gates_section(),
        production_section(),
        *diffs,
        serving_section(),
        plots_section(),
    ]
    return "\n\n".join("\n".join(s) for s in sections if s) + "\n"


def main(*, output: Path, base: str | None = None) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(build(base or gitrepo.base()))
    print(f"report: {output}")
