"""`compare-shadow`: the shadow challenger against the served model, on the same logged requests.

Reads the request log lines that carry a shadow (serving/shadow.py): how often the two models
agree (classification: overall and per class the served model answered; regression: how far apart
their values are) and, with labels, both models' live metrics on the same rows. Writes a Markdown
report for the pull request that promotes the challenger; it judges nothing itself (the gates do).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import params
from ..contract.identity import model_version
from ..contract.schema import CLASSIFICATION
from . import traffic
from .monitor import live_metrics


class ShadowError(ValueError):
    """The log cannot be compared; the message says why in one line."""


def instant(text: str | None) -> datetime | None:
    return None if text is None else traffic.instant(text)


def shadowed(served: pd.DataFrame) -> pd.DataFrame:
    """The logged rows a shadow saw, all of one served model and one shadow (else the window is ambiguous)."""
    if "shadow_sha256" not in served or served["shadow_sha256"].isna().all():
        raise ShadowError(
            "no row of the log carries a shadow prediction: serve a Bento built with a shadow "
            "(a pin's `shadow`, or `make build SHADOW=<model folder>`) with REQUEST_LOG on"
        )
    rows = served.dropna(subset=["shadow_sha256"]).reset_index(drop=True)
    pairs = rows.groupby(["model_sha256", "shadow_sha256"]).size()
    if len(pairs) > 1:
        named = ", ".join(f"{model_version(m)} shadowed by {model_version(s)}" for m, s in pairs.index)
        raise ShadowError(
            f"the log holds {len(pairs)} pairs of models ({named}): choose a window with one (--since/--until)"
        )
    if "shadow_error" not in rows:
        rows["shadow_error"] = None
    return rows


def compare(rows: pd.DataFrame) -> dict[str, Any]:
    """Everything the report says, as data."""
    failed = rows["shadow_error"].notna()
    scored = rows[~failed]
    result: dict[str, Any] = {
        "model_sha256": str(rows["model_sha256"].iloc[0]), "shadow_sha256": str(rows["shadow_sha256"].iloc[0]),
        "rows": len(rows), "scored": len(scored), "failed": int(failed.sum()),
        "errors": rows.loc[failed, "shadow_error"].value_counts().to_dict(),
        "first": str(rows["time"].min()), "last": str(rows["time"].max()),
    }  # fmt: skip
    if scored.empty:
        return result
    if CLASSIFICATION:
        served, shadow = scored["prediction"].astype(str), scored["shadow_prediction"].astype(str)
        result["agreement"] = round(float((served == shadow).mean()), 4)
        result["per_class"] = [
            {"class": label, "rows": len(part), "agreement": round(float((part == shadow[part.index]).mean()), 4)}
            for label, part in served.groupby(served)
        ]
        result["crosstab"] = pd.crosstab(served, shadow).to_dict(orient="index")
    else:
        gap = (scored["shadow_prediction"].astype(float) - scored["prediction"].astype(float)).abs()
        result["mean_abs_diff"] = round(float(gap.mean()), 6)
        result["max_abs_diff"] = round(float(gap.max()), 6)
    return result


def judge(scored: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Both models' live metrics on the same labelled rows."""
    return {
        "served": live_metrics(scored["label"], scored["prediction"], scored.get("probabilities")),
        "shadow": live_metrics(scored["label"], scored["shadow_prediction"], scored.get("shadow_probabilities")),
    }


def report(result: dict[str, Any]) -> str:
    served, shadow = model_version(result["model_sha256"]), model_version(result["shadow_sha256"])
    lines = [
        f"# Shadow challenger {shadow} against the served model {served}",
        "",
        f"{result['rows']} logged rows, from {result['first']} to {result['last']}: the shadow scored "
        f"{result['scored']} and failed on {result['failed']}.",
        "",
        f"- served model sha256 `{result['model_sha256']}`",
        f"- shadow model sha256 `{result['shadow_sha256']}`",
    ]
    lines += [f"- shadow error on {n} rows: `{error}`" for error, n in result["errors"].items()]
    if "agreement" in result:
        lines += ["", "## Agreement", "", f"The two models give the same class on {result['agreement']:.2%} of the rows.",
                  "", "| served class | rows | shadow agrees |", "|---|---:|---:|"]  # fmt: skip
        lines += [f"| {c['class']} | {c['rows']} | {c['agreement']:.2%} |" for c in result["per_class"]]
        classes = sorted({c for row in result["crosstab"].values() for c in row})
        lines += ["", "| served \\ shadow | " + " | ".join(classes) + " |", "|---|" + "---:|" * len(classes)]
        lines += [f"| {label} | " + " | ".join(str(row.get(c, 0)) for c in classes) + " |"
                  for label, row in result["crosstab"].items()]  # fmt: skip
    if "mean_abs_diff" in result:
        lines += ["", "## Agreement", "", f"Mean absolute difference of the predictions: {result['mean_abs_diff']}; "
                  f"largest: {result['max_abs_diff']}."]  # fmt: skip
    if "metrics" in result:
        gated = {name: kind for kind in ("min", "max") for name in (params.load("evaluate").get(kind) or {})}
        lines += ["", f"## On labelled traffic ({result['labelled']} rows, the same for both)", "",
                  "| metric | served | shadow | shadow - served | |", "|---|---:|---:|---:|---|"]  # fmt: skip
        served, shadow = result["metrics"]["served"], result["metrics"]["shadow"]
        for name in [*served, *(n for n in shadow if n not in served)]:
            ours, theirs = served.get(name), shadow.get(name)
            if ours is None or theirs is None:  # undefined for one model on these rows (evaluate.metrics)
                lines.append(f"| {name} | {'-' if ours is None else ours} | {'-' if theirs is None else theirs} | | |")
                continue
            better = theirs > ours if gated.get(name) == "min" else theirs < ours if gated.get(name) == "max" else None
            verdict = "" if better is None or theirs == ours else ("shadow better" if better else "shadow worse")
            lines.append(f"| {name} | {ours} | {theirs} | {theirs - ours:+.6f} | {verdict} |")
    elif "labelled" in result:
        lines += ["", "No logged row has a label: agreement only."]
    return "\n".join(lines) + "\n"


def main(*, log: Path | None, labels: Path | None, since: str | None, until: str | None, output: Path) -> int:
    try:
        served = traffic.read(log or Path(params.load("monitor")["log"]), instant(since), instant(until))
        rows = shadowed(served)
        result = compare(rows)
        if labels is not None:
            known = traffic.join_labels(rows[rows["shadow_error"].isna()], labels)
            result["labelled"] = len(known)
            if len(known):
                result["metrics"] = judge(known)
    except (traffic.TrafficError, ShadowError) as error:
        print(f"compare-shadow: {error}", file=sys.stderr)
        return 2
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report(result))
    if not result["scored"]:
        said = "no row to compare"
    else:
        said = f"agreement {result['agreement']:.2%}" if CLASSIFICATION else f"mean |diff| {result['mean_abs_diff']}"
    print(
        f"compare-shadow: {result['rows']} rows ({result['failed']} failed by the shadow), {said}; report in {output}"
    )
    return 0
