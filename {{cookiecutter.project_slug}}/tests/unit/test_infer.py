"""What `make adopt` infers from a table: the task, each column's contract, and why a column goes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.contract.schema import _column
from {{ cookiecutter.package_name }}.pipeline import adopt, infer_schema

ROWS = 120


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["yes", "no"] * (ROWS // 2), "binary"),
        ([0, 1] * (ROWS // 2), "binary"),
        (["a", "b", "c"] * (ROWS // 3), "multiclass"),
        ([1, 2, 3, 4] * (ROWS // 4), "multiclass"),
        ([i * 1.5 for i in range(ROWS)], "regression"),
        (list(range(ROWS)), "regression"),  # more whole numbers than classes are read as a quantity
    ],
)
def test_the_task_follows_the_target(values: list[object], task: str) -> None:
    assert infer_schema.task_of(pd.Series(values))[0] == task


@pytest.mark.parametrize(
    ("name", "values", "reason"),
    [
        ("region", ["EU"] * ROWS, "constant"),
        ("empty", [None] * ROWS, "empty"),
        ("customer_id", [f"C{i}" for i in range(ROWS)], "identifier"),
        ("row_number", list(range(ROWS)), "identifier"),
        ("time", [float(i % 17) for i in range(ROWS)], "named like a field of the request log"),
        ("signup", pd.date_range("2024-01-01", periods=ROWS).strftime("%Y-%m-%d").tolist(), "date"),
        ("notes", ["called about the plan last week"] * (ROWS - 1) + ["no call"], "free text"),
        ("city", [f"city {i % 60}" for i in range(ROWS)], "too many categories"),
    ],
)
def test_a_column_that_cannot_be_used_is_dropped_saying_why(name: str, values: list[object], reason: str) -> None:
    found = infer_schema.drop_reason(name, pd.Series(values))
    assert found is not None and found.startswith(reason)


def test_usable_columns_are_kept() -> None:
    assert infer_schema.drop_reason("plan", pd.Series(["basic", "plus", None] * (ROWS // 3))) is None
    assert infer_schema.drop_reason("price", pd.Series([float(i % 17) for i in range(ROWS)])) is None


def test_a_range_is_widened_and_stays_non_negative_where_nothing_was_negative() -> None:
    assert infer_schema.value_range(pd.Series([10.0, 20.0])) == [9.0, 21.0]
    assert infer_schema.value_range(pd.Series([0.5, 100.0]))[0] == 0.0
    low, high = infer_schema.value_range(pd.Series([-0.05, 0.06]))
    assert low < -0.05 and high > 0.06


def frame(**columns: list[object]) -> pd.DataFrame:
    return pd.DataFrame(columns)


@pytest.mark.parametrize(
    ("table", "target", "task", "message"),
    [
        (frame(x=list(range(ROWS)), y=["a"] * ROWS), "y", None, "has one class"),
        (frame(x=list(range(50)), y=["a", "b"] * 25), "y", None, "50 rows have a 'y'"),
        (frame(x=list(range(ROWS)), y=["a", "b"] * (ROWS // 2)), "z", None, "'z' is not a column"),
        (frame(x=list(range(ROWS)), y=["a", "b", "c"] * (ROWS // 3)), "y", "binary", "has 3 classes"),
        (frame(x=list(range(ROWS)), y=[i / 3 for i in range(ROWS)]), "y", "binary", "holds fractional numbers"),
        (frame(x=[1.0] * ROWS, y=["a", "b"] * (ROWS // 2)), "y", None, "no column besides 'y'"),
        (frame(x=list(range(ROWS)), row=["a", "b"] * (ROWS // 2)), "row", None, "'row' is named like a field"),
    ],
)
def test_a_table_that_cannot_be_adopted_is_refused_in_one_line(
    table: pd.DataFrame, target: str, task: str | None, message: str
) -> None:
    with pytest.raises(infer_schema.AdoptError, match=message) as error:
        infer_schema.infer(table, target, task)
    assert "\n" not in str(error.value)


def test_the_written_contract_loads_and_the_params_keep_their_other_lines(tmp_path: Path) -> None:
    table = frame(
        plan=["basic", "plus", None, "plus"] * (ROWS // 4),
        price=[float(i % 13) for i in range(ROWS)],
        churned=["yes", "no", "no"] * (ROWS // 3),
    )
    inferred = infer_schema.infer(table, "churned")
    text = adopt.dataset_text(inferred, Path("data/raw/t.csv"), Path("t.csv"), "churned")
    config = adopt.dataset.Dataset.model_validate(adopt.yaml.safe_load(text))
    assert (config.task, config.columns["plan"].nullable, config.columns["churned"].values) == (
        "binary",
        True,
        ("no", "yes"),
    )
    params = adopt.params.PARAMS_FILE.read_text()
    rules = adopt.validate_rules(inferred, table, "churned", 0.25)
    thresholds, why = adopt.gates(inferred, table["churned"])
    rewritten = adopt.params_text(params, rules, thresholds, why)
    assert adopt.yaml.safe_load(rewritten)["evaluate"]["min"] == thresholds["min"]
    kept = [line for line in params.splitlines() if line.startswith(("serving:", "train:", "  tolerance:"))]
    assert all(line in rewritten.splitlines() for line in kept)
    before, after = adopt.yaml.safe_load(params), adopt.yaml.safe_load(rewritten)
    assert after["validate"]["min_rows"] == rules["min_rows"]
    # Keys of the same name in other sections (the monitor's window) are not validate's to set.
    assert {k: v for k, v in after.items() if k not in ("validate", "evaluate")} == {
        k: v for k, v in before.items() if k not in ("validate", "evaluate")
    }


def test_the_null_limit_leaves_room_for_what_chance_puts_in_a_small_held_out_file() -> None:
    """The penguins' sex is 11 of 344 rows missing; a quarter held out holds 86 rows, and 5 of them (5.8%) by
    chance would have failed a limit of one and a half times the table's share."""
    share, rows = 11 / 344, 86
    limit = adopt.null_limit(share, rows)
    held_out = np.random.default_rng(0).binomial(rows, share, 10_000) / rows
    assert (held_out > limit).mean() < 0.01
    assert (held_out > share * adopt.NULL_HEADROOM).mean() > 0.1  # the headroom alone: a false alarm in ten
    assert adopt.null_limit(0.01, 100_000) == adopt.DEFAULT_MAX_NULL_FRACTION
    assert 0.30 <= adopt.null_limit(0.2, 100_000) <= 0.31  # a big file: half as much again


def test_re_adopting_keeps_the_sensitive_marks_and_adds_the_asked_for_ones() -> None:
    table = frame(
        email=[f"user{i % 7}" for i in range(ROWS)],
        plan=["basic", "plus", None, "plus"] * (ROWS // 4),
        price=[float(i % 13) for i in range(ROWS)],
        churned=["yes", "no", "no"] * (ROWS // 3),
    )
    inferred = infer_schema.infer(table, "churned")
    # The contract being replaced marked `plan` and a column the new table lacks; the person asks for `price`.
    lost = adopt.mark_sensitive(inferred, "churned", ("plan", "postcode"), ("price",))
    text = adopt.dataset_text(inferred, Path("data/raw/t.csv"), Path("t.csv"), "churned")
    config = adopt.dataset.Dataset.model_validate(adopt.yaml.safe_load(text))
    assert config.sensitive == ("plan", "price")
    assert lost == ["'postcode' was marked sensitive, and the new table has no such feature"]
    assert "sensitive: true" in text and "`sensitive: true` marks personal data" in text


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        (("prise",), r"^SENSITIVE: cannot mark 'prise': it is not a feature of the table; features: price$"),
        (("churned",), r"^SENSITIVE: cannot mark 'churned': it is the target$"),
    ],
)
def test_a_sensitive_mark_on_no_feature_is_refused_in_one_line(asked: tuple[str, ...], message: str) -> None:
    inferred = infer_schema.infer(
        frame(price=[float(i % 13) for i in range(ROWS)], churned=["yes", "no"] * (ROWS // 2)), "churned"
    )
    with pytest.raises(infer_schema.AdoptError, match=message):
        adopt.mark_sensitive(inferred, "churned", (), asked)


KINDS = ("number", "whole number", "code", "boolean", "category", "mixed case", "date", "identifier", "constant")


@st.composite
def tables(draw: st.DrawFn) -> tuple[pd.DataFrame, str]:
    """A table of the column kinds teams bring, gaps anywhere, and a target of any supported kind."""
    rows = draw(st.integers(ROWS, 160))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    columns: dict[str, Any] = {}
    for index, kind in enumerate(draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=5))):
        values: Any = {
            "number": rng.normal(50, 10, rows).round(2),
            "whole number": rng.integers(0, 1000, rows),
            "code": rng.integers(1, 6, rows),  # integer-coded answers: 1 to 5
            "boolean": rng.random(rows) > 0.5,
            "category": rng.choice(["basic", "plus", "premium"], rows),
            "mixed case": rng.choice(["Card", "card", "CASH"], rows),
            "date": pd.date_range("2024-01-01", periods=rows).strftime("%Y-%m-%d"),
            "identifier": [f"C{i:05d}" for i in range(rows)],
            "constant": ["EU"] * rows,
        }[kind]
        column = pd.Series(values)
        if draw(st.booleans()):  # gaps
            column = column.where(rng.random(rows) > draw(st.sampled_from([0.02, 0.3])), None)
        columns[f"{kind.replace(' ', '_')}_{index}"] = column
    target = draw(st.sampled_from(["yes/no", "0/1", "1 to 4", "text classes", "quantity"]))
    columns["outcome"] = {
        "yes/no": rng.choice(["yes", "no"], rows),
        "0/1": rng.integers(0, 2, rows),
        "1 to 4": rng.integers(1, 5, rows),
        "text classes": rng.choice(["Adelie", "Gentoo", "chinstrap"], rows),
        "quantity": rng.normal(100, 20, rows),
    }[target]
    if draw(st.booleans()):  # rows without a label: a CSV then reads whole-number classes as 1.0
        columns["outcome"] = pd.Series(columns["outcome"]).where(rng.random(rows) > 0.05, None)
    return pd.DataFrame(columns), "outcome"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=tables())
def test_adopt_writes_a_contract_its_own_table_passes_or_refuses_in_one_line(
    drawn: tuple[pd.DataFrame, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Through a CSV, as a team's export arrives: the contract adopt writes loads, and the table it was written
    from (its labelled rows) and its example pass it -- or adopt refuses, in one line naming what to fix."""
    table, target = drawn
    path = tmp_path_factory.mktemp("table") / "t.csv"
    table.to_csv(path, index=False)
    read = infer_schema.read(path)
    try:
        inferred = infer_schema.infer(read, target)
    except infer_schema.AdoptError as error:
        assert "\n" not in str(error) and str(error)
        event("refused")
        return
    event("adopted")
    text = adopt.dataset_text(inferred, Path("data/raw/t.csv"), path, target)
    config = adopt.dataset.Dataset.model_validate(adopt.yaml.safe_load(text))
    schema = pa.DataFrameSchema(
        {name: _column(spec) for name, spec in config.columns.items()}, strict="filter", coerce=True
    )
    schema.validate(read.dropna(subset=[target]), lazy=True)
    schema.validate(pd.DataFrame([config.example]), lazy=True)
    assert set(inferred.dropped) | set(config.features) == set(read.columns) - {target}
