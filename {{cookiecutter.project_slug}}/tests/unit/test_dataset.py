"""The dataset configuration is checked once, and a mistake in it is named in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from {{ cookiecutter.package_name }}.contract import dataset
from {{ cookiecutter.package_name }}.contract.schema import FEATURE_NAMES, TARGET, TASK


def test_the_baked_configuration_decides_target_and_task() -> None:
    config = yaml.safe_load(dataset.PATH.read_text())
    assert (config["target"], config["task"]) == (TARGET, TASK)
    assert TARGET not in FEATURE_NAMES and set(FEATURE_NAMES) | {TARGET} == set(config["columns"])


def broken(tmp_path: Path, change: Any) -> Path:
    config = yaml.safe_load(dataset.PATH.read_text())
    change(config)
    path = tmp_path / "dataset.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(target="wingspan"), "target 'wingspan' is not one of the columns"),
        (lambda c: c.update(task="ranking"), "task: Input should be 'binary', 'multiclass' or 'regression'"),
        (lambda c: c["columns"][c["target"]].update(type="text"), "type: Input should be 'category' or 'float'"),
        (lambda c: c["example"].pop(next(iter(c["columns"]))), "example lacks"),
        (lambda c: c["columns"][next(iter(c["columns"]))].update(extra=1), "extra: Extra inputs are not permitted"),
        (
            lambda c: (c["columns"].update(time={"type": "float"}), c["example"].update(time=1.0)),
            r"columns \['time'\] are named like fields of the request log",
        ),
    ],
    ids=["unknown target", "unknown task", "unknown type", "incomplete example", "unknown key", "a log field"],
)
def test_a_broken_configuration_is_refused_naming_the_field(tmp_path: Path, change: Any, message: str) -> None:
    with pytest.raises(dataset.DatasetError, match=message):
        dataset.load(broken(tmp_path, change))


def test_a_task_that_does_not_fit_the_target_column_is_refused(tmp_path: Path) -> None:
    other = {"binary": "regression", "multiclass": "regression", "regression": "multiclass"}[TASK]
    with pytest.raises(dataset.DatasetError, match=f"a {other} target cannot be"):
        dataset.load(broken(tmp_path, lambda c: c.update(task=other)))
