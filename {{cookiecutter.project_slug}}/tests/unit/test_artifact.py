"""A model folder is loaded only when its artifact's bytes match the digest in its lineage record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import pytest

from {{ cookiecutter.package_name }}.contract.artifact import ARTIFACT_FILE, LINEAGE_FILE, ArtifactError, load_verified, sha256_file
from tests.conftest import identity_record


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    joblib.dump({"weights": [1, 2, 3]}, tmp_path / ARTIFACT_FILE)
    record = identity_record(sha256_file(tmp_path / ARTIFACT_FILE))
    (tmp_path / LINEAGE_FILE).write_text(json.dumps(record))
    return tmp_path


def test_a_matching_artifact_loads(folder: Path) -> None:
    model, lineage = load_verified(folder)
    assert model == {"weights": [1, 2, 3]}
    assert lineage.artifact.sha256 == sha256_file(folder / ARTIFACT_FILE)


def test_a_changed_artifact_is_refused(folder: Path) -> None:
    with (folder / ARTIFACT_FILE).open("ab") as f:
        f.write(b"tampered")
    with pytest.raises(ArtifactError, match="sha256"):
        load_verified(folder)


def test_a_missing_artifact_is_refused(folder: Path) -> None:
    (folder / ARTIFACT_FILE).unlink()
    with pytest.raises(ArtifactError, match="missing"):
        load_verified(folder)


def test_an_unreadable_lineage_record_is_refused(folder: Path) -> None:
    (folder / LINEAGE_FILE).write_text("{not json")
    with pytest.raises(ArtifactError, match="unreadable"):
        load_verified(folder)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda r: r.pop("git_commit"), "git_commit: Field required"),
        (lambda r: r.update(params_sha256="short"), "params_sha256: String should match pattern"),
        (lambda r: r.update(surprise=1), "surprise: Extra inputs are not permitted"),
    ],
)
def test_a_lineage_record_that_is_not_an_identity_record_is_refused_naming_the_field(
    folder: Path, change: Any, named: str
) -> None:
    """The service will not start on a record it cannot vouch for: one line naming each field at fault."""
    record = json.loads((folder / LINEAGE_FILE).read_text())
    change(record)
    (folder / LINEAGE_FILE).write_text(json.dumps(record))
    with pytest.raises(ArtifactError, match=named):
        load_verified(folder)
