"""`make adopt DATA=<file> TARGET=<column> [TASK=…]`: make a team's own table the data this repository learns from.

It reads the file and infers everything (infer_schema.py) before touching anything, so bad data costs one line
and no change. Then it copies the file to data/raw/, versions it with DVC, writes contract/dataset.yaml
(the contract, for a person to tighten) and the task's rules and gates into params.yaml. `make all` then
trains, checks and serves the new model; docs/own-data.md walks through it.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from ..contract import dataset, params
from . import infer_schema

RAW = Path("data/raw")
# Rules of params.yaml's `validate` section that follow the data's size and gaps.
NULL_HEADROOM = 1.5  # a column may hold this many times the share of nulls seen at adoption…
NULL_SPREAD = 3  # …or this many standard errors more, in a file as small as the held-out one
DEFAULT_MIN_ROWS = 50
DEFAULT_MAX_NULL_FRACTION = 0.05
DEFAULT_MIN_CLASS_FRACTION = 0.10


class _Dumper(yaml.SafeDumper):
    """Lists on one line (`range: [4.0, 31.0]`), as a person writes them."""


_Dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def _yaml(data: dict[str, object]) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120).rstrip()


def _quoted(text: str) -> str:
    return yaml.safe_dump(text, default_style='"', width=10**6).strip()


def dataset_text(inferred: infer_schema.Inferred, raw: Path, source: Path, target: str) -> str:
    """dataset.yaml as a person reads and edits it: what was inferred, with the reason, and what was dropped."""
    lines = [
        "# The dataset: the one place that describes the data this model learns from and answers about.",
        "# The schema (data checks), the request and response models, the test strategies and the pipeline all",
        "# read this file; dvc.yaml reads `raw_data` from it. Change a range or a category here and all follow.",
        "#",
        f"# Written by `make adopt` from {source.name}: every range is the observed one widened by",
        f"# {infer_schema.MARGIN:.0%} of its span, every category list is what the file held. Tighten them to what is",
        "# plausible (docs/own-data.md): a request outside them is refused with a 400 naming the field.",
        "",
        f"raw_data: {_quoted(raw.as_posix())}   # versioned by DVC ({raw.as_posix()}.dvc)",
        f"target: {_quoted(target)}",
        f"task: {inferred.task}   # {inferred.task_reason}",
        "",
        "# Each column: `category` with its closed set of `values`, or `float` with an inclusive `range`.",
        '# `nullable: true` lets a record say "unknown" with null. Columns of the file not listed here are dropped.',
        "# `sensitive: true` marks personal data: the service's request log drops the column, or hashes it;",
        "# `make adopt` keeps the marks of the contract it replaces (SENSITIVE=a,b marks more).",
    ]
    if inferred.dropped:
        lines.append("# Dropped by `make adopt`:")
        lines += [f"#   {name}: {why}" for name, why in inferred.dropped.items()]
    lines += [
        _yaml({"columns": inferred.columns}),
        "",
        "# One real record: the service's OpenAPI page is pre-filled with it, and the tests use it.",
    ]
    lines.append(_yaml({"example": inferred.example}))
    return "\n".join(lines) + "\n"


def mark_sensitive(
    inferred: infer_schema.Inferred, target: str, kept: tuple[str, ...], asked: tuple[str, ...]
) -> list[str]:
    """Mark as `sensitive` the features the contract being replaced marked (`kept`) and those asked for.

    Re-adopting must not quietly start logging personal data the team had marked. An asked-for name that
    is not a feature of the new table is refused (a typo would leave the column logged); a kept one the
    new table lacks is only reported. Returns a line for each kept mark the new table has no column for.
    """
    features = [name for name in inferred.columns if name != target]
    for name in asked:
        if name not in features:
            why = (
                "it is the target"
                if name == target
                else f"it is not a feature of the table; features: {', '.join(features)}"
            )
            raise infer_schema.AdoptError(f"SENSITIVE: cannot mark {name!r}: {why}")
    lost = [
        f"{name!r} was marked sensitive, and the new table has no such feature" for name in kept if name not in features
    ]
    for name in features:
        if name in kept or name in asked:
            column = inferred.columns[name]
            description = column.pop("description", None)  # stays the last key, as a person writes it
            column["sensitive"] = True
            if description is not None:
                column["description"] = description
    return lost


def validate_rules(
    inferred: infer_schema.Inferred, frame: pd.DataFrame, target: str, test_size: float
) -> dict[str, float | int]:
    """min_rows no larger than the held-out file; null and class shares with headroom over what was seen."""
    held_out = int(inferred.labelled_rows * test_size)
    labelled = frame.dropna(subset=[target])  # what prepare splits, and the data stage judges
    worst_nulls = max(float(labelled[n].isna().mean()) for n in inferred.columns if n != target)
    rules: dict[str, float | int] = {
        "min_rows": min(DEFAULT_MIN_ROWS, held_out // 10 * 10 or held_out),
        "max_null_fraction": null_limit(worst_nulls, max(held_out, 1)),
    }
    if inferred.task != "regression":
        rarest = float(frame[target].dropna().astype(str).value_counts(normalize=True).min())
        rules["min_class_fraction"] = min(DEFAULT_MIN_CLASS_FRACTION, math_floor(rarest / 2, 2))
    return rules


def null_limit(share: float, rows: int) -> float:
    """The null share a file of `rows` rows may hold when the table held `share`: an 86-row held-out file of
    a 3% column holds 6% by chance alone (the penguins' `sex`), so the spread of a sample that small counts."""
    spread = NULL_SPREAD * math.sqrt(share * (1 - share) / rows)
    return max(DEFAULT_MAX_NULL_FRACTION, round(max(share * NULL_HEADROOM, share + spread) + 0.005, 2))


def math_floor(value: float, digits: int) -> float:
    scale = 10**digits
    return int(value * scale) / scale


def gates(inferred: infer_schema.Inferred, labels: pd.Series) -> tuple[dict[str, dict[str, float]], str]:
    """The quality gate's floor: the model must beat the trivial one (the commonest class, or the mean)."""
    target = labels.dropna()
    if inferred.task == "regression":
        spread = float(target.std())
        rmse = float(f"{spread:.3g}")
        return {"min": {"r2": 0.0}, "max": {"rmse": rmse}}, "predicting the mean scores r2 0 and rmse ~ the std"
    majority = math_floor(float(target.astype(str).value_counts(normalize=True).max()), 2)
    if inferred.task == "binary":
        return {
            "min": {"accuracy": majority, "roc_auc": 0.6}
        }, "always answering the commonest class scores this accuracy; chance is roc_auc 0.5"
    floor_f1 = math_floor(1 / target.nunique(), 2)
    return {
        "min": {"accuracy": majority, "f1_macro": floor_f1}
    }, "always answering the commonest class scores this accuracy"


def params_text(text: str, rules: dict[str, float | int], thresholds: dict[str, dict[str, float]], why: str) -> str:
    """params.yaml with the validate rules set and the evaluate gate replaced, every other line kept."""
    section = re.search(r"(?ms)^validate:.*?\n(?=\S)", text)  # other sections have keys of the same names
    if section is None:
        raise infer_schema.AdoptError("params.yaml: no `validate` section; restore it from the template")
    rules_text = section.group(0)
    for key, value in rules.items():
        rules_text, found = re.subn(rf"(?m)^(  {key}:\s*)\S+", rf"\g<1>{value}", rules_text)
        if not found:
            raise infer_schema.AdoptError(f"params.yaml: validate.{key} not found; restore it from the template")
    text = text[: section.start()] + rules_text + text[section.end() :]
    block = re.search(r"(?ms)^evaluate:.*?\n(?=\S)", text)
    if block is None:
        raise infer_schema.AdoptError("params.yaml: no `evaluate` section; restore it from the template")
    kept = [line for line in block.group(0).splitlines() if line.startswith(("evaluate:", "  tolerance:"))]
    gate = yaml.safe_dump(thresholds, sort_keys=False).rstrip().splitlines()
    new = [*kept, f"  # Set by `make adopt` as a floor ({why}): raise it to what the use needs."]
    new += [f"  {line}" for line in gate]
    return text[: block.start()] + "\n".join(new) + "\n\n" + text[block.end() :]


def dvc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dvc", *args], capture_output=True, text=True)


def retire(old: Path, new: Path) -> Path | None:
    """Stop tracking the previous raw file, so the data checks (tests/data) read only the adopted one."""
    tracked = old.with_name(old.name + ".dvc")
    if old == new or not tracked.exists():
        return None
    result = dvc("remove", "--outs", str(tracked))
    if result.returncode != 0:
        print(f"adopt: warning: could not untrack {old}: {(result.stderr or result.stdout).strip()}", file=sys.stderr)
        return None
    return old


def adopt(data: Path, target: str, task: str | None = None, sensitive: tuple[str, ...] = ()) -> int:
    frame = infer_schema.read(data)
    inferred = infer_schema.infer(frame, target, task)
    lost = mark_sensitive(inferred, target, dataset.DATASET.sensitive, sensitive)
    raw = RAW / data.name
    if raw.exists() and raw.resolve() != data.resolve():
        raise infer_schema.AdoptError(f"{raw} already exists and is another file; rename {data.name} or remove {raw}")
    rules = validate_rules(inferred, frame, target, float(params.load("prepare")["test_size"]))
    thresholds, why = gates(inferred, frame[target])
    new_dataset = dataset_text(inferred, raw, data, target)
    dataset.Dataset.model_validate(yaml.safe_load(new_dataset))  # what is written must load
    old_params = params.PARAMS_FILE.read_text()
    new_params = params_text(old_params, rules, thresholds, why)

    copied = raw.resolve() != data.resolve()
    if copied:
        RAW.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data, raw)
    result = dvc("add", "--quiet", str(raw))
    if result.returncode != 0:
        if copied:
            raw.unlink()
        raise infer_schema.AdoptError(
            f"`dvc add {raw}` failed, nothing was changed: {(result.stderr or result.stdout).strip()}"
        )
    dataset.PATH.write_text(new_dataset)
    params.PARAMS_FILE.write_text(new_params)
    retired = retire(Path(dataset.DATASET.raw_data), raw)

    print(f"adopt: {data} -> {raw} ({inferred.labelled_rows} labelled rows), versioned by DVC")
    if retired:
        print(
            f"adopt: {retired} is no longer the raw data: its .dvc file is removed (git history and the DVC cache keep it)"
        )
    print(f"adopt: task {inferred.task} ({inferred.task_reason}); give TASK= to choose another")
    for name, why_dropped in inferred.dropped.items():
        print(f"adopt: dropped {name!r}: {why_dropped}")
    marked = [n for n, c in inferred.columns.items() if c.get("sensitive")]
    print(
        f"adopt: sensitive (not in the request log as given): {', '.join(marked) or 'none'}; SENSITIVE=a,b marks more"
    )
    for line in lost:
        print(f"adopt: warning: {line}", file=sys.stderr)
    kept = [n for n in inferred.columns if n != target]
    print(f"adopt: {len(kept)} features; contract written to {dataset.PATH} - read it and tighten it")
    print(f"adopt: params.yaml: validate {rules}; evaluate gate {thresholds}")
    print("adopt: next: `make all` (train, check and serve), then commit")
    return 0


def main(*, data: Path, target: str, task: str | None = None, sensitive: str = "") -> int:
    try:
        return adopt(data, target, task, tuple(n.strip() for n in sensitive.split(",") if n.strip()))
    except infer_schema.AdoptError as error:
        print(f"adopt: {error}; nothing was changed", file=sys.stderr)
        return 1
