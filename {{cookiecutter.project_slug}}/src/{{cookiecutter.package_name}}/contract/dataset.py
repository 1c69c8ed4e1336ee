"""The dataset's configuration, contract/dataset.yaml, read and checked once for every layer.

A mistake in the file fails on import with one line naming the field, before any data is touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

PATH = Path(__file__).with_name("dataset.yaml")
Task = Literal["binary", "multiclass", "regression"]


# The request log's own fields, and those `make monitor` adds beside a logged row's features (`label`):
# a column of one of these names would be overwritten in the monitor's rows, so none may be a column.
LOG_FIELDS = frozenset(
    {"time", "request_id", "row", "latency_ms", "model_sha256", "features", "prediction", "probabilities", "label"}
    | {"shadow_prediction", "shadow_probabilities", "shadow_sha256", "shadow_error"}
)


class DatasetError(ValueError):
    """dataset.yaml cannot describe a dataset; the message names the field."""


class Column(BaseModel):
    # A key this model does not know is refused (a typo must not pass silently); a new optional key is
    # one more field here with a default, so files written before it stay valid.
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["category", "float"]
    values: tuple[str, ...] | None = None  # a category's closed set
    range: tuple[float, float] | None = None  # a float's inclusive bounds
    nullable: bool = False
    sensitive: bool = False  # personal data: the request log drops it (or hashes it, by the server's configuration)
    description: str = ""

    @model_validator(mode="after")
    def _fits_its_type(self) -> Column:
        if self.type == "category" and not self.values:
            raise ValueError("a category column lists its `values`")
        if self.type == "float" and self.values is not None:
            raise ValueError("a float column has a `range`, not `values`")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range {list(self.range)} is reversed")
        return self


class Dataset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    raw_data: str
    target: str
    task: Task
    columns: dict[str, Column]
    example: dict[str, Any]

    @model_validator(mode="after")
    def _consistent(self) -> Dataset:
        if self.target not in self.columns:
            raise ValueError(f"target {self.target!r} is not one of the columns")
        target = self.columns[self.target]
        if (self.task != "regression") != (target.type == "category"):
            raise ValueError(f"a {self.task} target cannot be a {target.type} column")
        if self.task == "binary" and len(target.values or ()) != 2:
            raise ValueError(f"a binary target has two values, not {len(target.values or ())}")
        if clashing := sorted(set(self.columns) & LOG_FIELDS):
            raise ValueError(f"columns {clashing} are named like fields of the request log; rename them")
        if missing := set(self.columns) - set(self.example):
            raise ValueError(f"example lacks {sorted(missing)}")
        return self

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(name for name in self.columns if name != self.target)

    @property
    def sensitive(self) -> tuple[str, ...]:
        return tuple(name for name, column in self.columns.items() if column.sensitive)


def load(path: Path = PATH) -> Dataset:
    try:
        return Dataset.model_validate(yaml.safe_load(path.read_text()))
    except yaml.YAMLError as error:
        raise DatasetError(f"{path}: not YAML ({error})") from None
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(file)'}: {e['msg']}" for e in error.errors())
        raise DatasetError(f"{path}: {problems}") from None


DATASET = load()
