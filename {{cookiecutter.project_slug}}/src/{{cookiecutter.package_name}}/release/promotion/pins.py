"""Pin files: the desired state of each environment, `deploy/environments/<env>.yaml`.

A pin names one model by its full identity record, with the evaluation that admitted it. Git history
of these files is the record of what ran where; nothing else moves a model between environments.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from ...contract.identity import COMMIT, Lineage, Strict
from ..environments import ENVIRONMENTS, ORDER, PROMOTED_FROM
from ..errors import ReleaseError

PINS = Path("deploy/environments")


class Evaluation(Strict):
    data: dict[str, str] = Field(description="md5 of the held-out data the gates scored")
    metrics: dict[str, float]
    gates: dict[str, bool]


class Shadow(Strict):
    """A challenger that scores the environment's traffic without answering it (serving/shadow.py)."""

    source_commit: str = Field(pattern=COMMIT, description="the commit whose models/lineage.json records the shadow")
    model: Lineage


class Pin(Strict):
    schema_version: Literal[1] = 1
    environment: Literal[ENVIRONMENTS]  # type: ignore[valid-type]
    promoted_from: Literal[PROMOTED_FROM]  # type: ignore[valid-type]
    source_commit: str = Field(
        pattern=COMMIT, description="the commit whose models/lineage.json and dvc.lock describe the model"
    )
    model: Lineage
    evaluation: Evaluation
    shadow: Shadow | None = None

    @model_validator(mode="after")
    def _comes_from_the_environment_before(self) -> Pin:
        """Production's model comes from staging (or a rollback), never straight from a candidate."""
        allowed = (ORDER[self.environment], "rollback")
        if self.promoted_from not in allowed:
            raise ValueError(f"promoted_from: {self.environment} takes a model from {' or '.join(allowed)}")
        if self.shadow is not None and self.shadow.model.artifact.sha256 == self.model.artifact.sha256:
            raise ValueError("shadow: it is the pinned model itself; name a challenger, or remove the shadow")
        return self


class PinError(ReleaseError):
    """A pin file that cannot be used; the message names the file and each field at fault."""


def path(environment: str) -> Path:
    if environment not in ENVIRONMENTS:
        raise PinError(f"unknown environment {environment!r}; one of {', '.join(ENVIRONMENTS)}")
    return PINS / f"{environment}.yaml"


def parse(text: str, source: str) -> Pin:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PinError(f"{source}: not YAML ({error})") from None
    try:
        pin = Pin.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(file)'}: {e['msg']}" for e in error.errors())
        raise PinError(f"{source}: {problems}") from None
    if source.endswith(".yaml") and Path(source).stem != pin.environment:
        raise PinError(f"{source}: environment: says {pin.environment!r}, but the file is {Path(source).name}")
    return pin


def read(environment: str, root: Path = Path()) -> Pin | None:
    file = root / path(environment)
    return parse(file.read_text(), str(path(environment))) if file.exists() else None


HEADER = """\
# The desired state of the {env} environment: the model that must serve there.
# Written by `make promote ENV={env}` or `make rollback ENV={env}`; changed only by a reviewed pull request.
"""


def dump(pin: Pin) -> str:
    # A pin without a shadow is written as it was before shadows existed: no `shadow: null` line.
    body: dict[str, Any] = pin.model_dump(mode="json", exclude={"shadow"} if pin.shadow is None else None)
    return HEADER.format(env=pin.environment) + yaml.safe_dump(body, sort_keys=False)


def write(pin: Pin, root: Path = Path()) -> Path:
    file = root / path(pin.environment)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(dump(pin))
    return file


def check_all() -> int:
    """`check-pins`: every environment's pin parses; one line each, an error line for each that does not."""
    failed = 0
    for environment in ENVIRONMENTS:
        try:
            pin = read(environment)
        except PinError as error:
            print(f"error: {error}", file=sys.stderr)
            failed += 1
            continue
        state = "nothing pinned" if pin is None else f"version {pin.model.version}"
        print(f"check-pins: {environment}: {state}")
    return 1 if failed else 0


def print_source(*, environment: str) -> None:
    """`pin-source`: the commit whose lineage and dvc.lock describe the model pinned in the environment."""
    pin = read(environment)
    if pin is None:
        raise PinError(f"nothing is pinned in {environment}")
    print(pin.source_commit)
