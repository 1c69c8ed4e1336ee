"""`monitor`: a window of served traffic against the training profile, and (with labels) against the evaluation.

Drift: PSI per feature over its present values (contract/drift.py, the same index the data stage uses)
and of the predictions against the training labels, and each feature's missing share against training's. Decay, when labels arrive: each metric params.yaml's quality gate names,
live overall and per slice of each categorical feature, against its value at evaluation. Writes a
Markdown report with PNG plots; exits 1 naming each feature or metric past its threshold.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..contract import drift, params
from ..contract.dataset import DATASET
from ..contract.quality import metric_values
from ..contract.schema import CATEGORICAL, FEATURE_NAMES, TARGET, TASK, allowed_values
from . import plots, traffic

PROFILE = Path("models/training_profile.json")
EVALUATION = Path("reports/metrics.json")


def live_metrics(actual: pd.Series, predicted: pd.Series, probabilities: pd.Series | None = None) -> dict[str, float]:
    """The evaluate stage's metrics on labelled traffic; roc_auc too from the logged class probabilities."""
    classes, matrix = None, None
    if probabilities is not None and len(probabilities) and probabilities.map(lambda p: isinstance(p, dict)).all():
        classes = [str(c) for c in probabilities.iloc[0]]  # the model's order, as the service logged it
        matrix = np.array([[float(p.get(c, np.nan)) for c in classes] for p in probabilities])
        if np.isnan(matrix).any():  # rows of another model's classes: no common ranking
            classes, matrix = None, None
    elif TASK == "binary":  # no probabilities logged: the model's order is scikit-learn's, sorted (numbers as numbers)
        values = list(allowed_values(TARGET) or sorted(set(actual.astype(str)) | set(predicted.astype(str))))
        numeric = all(v.lstrip("-").replace(".", "", 1).isdigit() for v in values)
        classes = sorted(values, key=float) if numeric else sorted(values)
    return metric_values(actual, predicted, matrix, classes)


def decay(
    live: dict[str, float], evaluation: dict[str, float], gated: dict[str, str], max_decay: float, scope: str
) -> list[dict[str, Any]]:
    """Each gated metric against evaluation: a `min` metric may fall, a `max` one rise, by max_decay of its value."""
    rows = []
    for name, kind in gated.items():
        if name not in live or name not in evaluation:
            continue
        base = evaluation[name]
        limit = base * (1 - max_decay) if kind == "min" else base * (1 + max_decay)
        worse = live[name] < limit if kind == "min" else live[name] > limit
        rows.append({"scope": scope, "metric": name, "live": live[name], "evaluation": base,
                     "limit": round(limit, 6), "decayed": bool(worse)})  # fmt: skip
    return rows


def check(
    served: pd.DataFrame, reference: dict[str, Any], settings: dict[str, Any],
    evaluation: dict[str, float], gated: dict[str, str],
) -> dict[str, Any]:  # fmt: skip
    """Everything the report says, as data: drift rows, the predictions' PSI, decay rows, and the failures."""
    result: dict[str, Any] = {"rows": len(served), "labelled": 0, "drift": [], "missing": [], "decay": [],
                              "failures": [], "notes": []}  # fmt: skip
    if len(served) < settings["min_rows"]:
        result["notes"].append(
            f"{len(served)} rows in the window, fewer than min_rows {settings['min_rows']}: not judged"
        )
        return result
    watched = [name for name in FEATURE_NAMES if name not in DATASET.sensitive]  # sensitive ones are not logged
    result["drift"] = drift.compare(reference, served, settings["max_psi"], watched)
    if "target" in reference:
        result["drift"].append(
            drift.judge("(prediction)", reference["target"], served["prediction"], settings["max_psi"])
        )
    result["missing"] = drift.missing(reference, served, settings["max_missing_shift"], watched)
    result["failures"] += drift.failures(result["drift"], result["missing"])
    if "label" in served:
        labelled = served.dropna(subset=["label"])
        result["labelled"] = len(labelled)
        if len(labelled) >= settings["min_rows"]:
            rows = decay(live_metrics(labelled["label"], labelled["prediction"], labelled.get("probabilities")),
                         evaluation, gated, settings["max_decay"], "overall")  # fmt: skip
            for name in (n for n in CATEGORICAL if n in watched):
                for value, part in labelled.groupby(name, dropna=False):
                    if len(part) >= settings["min_slice_rows"]:
                        live = live_metrics(part["label"], part["prediction"], part.get("probabilities"))
                        rows += decay(live, evaluation, gated, settings["max_decay"], f"{name}={value}")
            result["decay"] = rows
            for row in rows:
                if row["decayed"]:
                    result["failures"].append(
                        f"{row['metric']} decayed ({row['scope']}): {row['live']} against {row['evaluation']} at evaluation"
                    )
        else:
            result["notes"].append(
                f"{len(labelled)} labelled rows, fewer than min_rows {settings['min_rows']}: decay not judged"
            )
    return result


def report(result: dict[str, Any], window: str, figures: list[str]) -> str:
    lines = [
        f"# Monitoring report: {window}",
        "",
        f"{result['rows']} served rows, {result['labelled']} with labels.",
        "",
    ]
    lines += [f"- {note}" for note in result["notes"]]
    verdict = "\n".join(f"- **{failure}**" for failure in result["failures"]) or "Every check passes."
    lines += ["", "## Verdict", "", verdict, ""]
    if result["drift"]:
        lines += ["## Drift against the training profile", "", drift.table(result["drift"]), ""]
    if result["missing"]:
        lines += ["## Missing values against the training profile", "", drift.missing_table(result["missing"]), ""]
    if result["decay"]:
        lines += ["## Live metrics against evaluation", "", "| scope | metric | live | evaluation | limit | |",
                  "|---|---|---:|---:|---:|---|"]  # fmt: skip
        lines += [f"| {r['scope']} | {r['metric']} | {r['live']} | {r['evaluation']} | {r['limit']} | "
                  f"{'DECAY' if r['decayed'] else 'ok'} |" for r in result["decay"]]  # fmt: skip
        lines.append("")
    lines += [f"![{Path(f).stem}]({f})" for f in figures]
    return "\n".join(lines) + "\n"


def window(since: str | None, until: str | None, hours: float) -> tuple[datetime, datetime]:
    def parse(text: str) -> datetime:
        try:
            return traffic.instant(text)
        except traffic.TrafficError as error:
            raise SystemExit(f"monitor: {error}") from None

    end = parse(until) if until else datetime.now(UTC)
    return (parse(since) if since else end - timedelta(hours=hours)), end


def main(*, log: Path | None, since: str | None, until: str | None, labels: Path | None, output: Path) -> int:
    settings = params.load("monitor")
    start, end = window(since, until, settings["window_hours"])
    try:
        served = traffic.read(log or Path(settings["log"]), start, end)
        if labels is not None:
            served = traffic.join_labels(served, labels)
    except traffic.TrafficError as error:
        print(f"monitor: {error}", file=sys.stderr)
        return 2
    evaluate = params.load("evaluate")
    gated = {name: kind for kind in ("min", "max") for name in (evaluate.get(kind) or {})}
    evaluation = json.loads(EVALUATION.read_text()) if EVALUATION.exists() else {}
    result = check(served, drift.read_profile(PROFILE), settings, evaluation, gated)
    output.mkdir(parents=True, exist_ok=True)
    figures = plots.draw(result, served, drift.read_profile(PROFILE), output)
    span = f"{start.isoformat(timespec='seconds')} to {end.isoformat(timespec='seconds')}"
    (output / "report.md").write_text(report(result, span, figures))
    (output / "result.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    for failure in result["failures"]:
        print(f"monitor: {failure}", file=sys.stderr)
    print(f"monitor: {result['rows']} rows, {len(result['failures'])} problems; report in {output / 'report.md'}")
    return 1 if result["failures"] else 0
