"""Each class of bad answer is refused before anything is written, with one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from .projects import bake

BAD_ANSWERS = {
    "slug with upper case": ({"project_slug": "Penguins", "package_name": "penguins"}, "error: project_slug: 'Penguins' has upper case"),
    "slug not a name": ({"project_slug": "2-penguins", "package_name": "penguins"}, "error: project_slug: '2-penguins' must be lower-case"),
    "package not an identifier": ({"package_name": "pen-guins"}, "error: package_name: 'pen-guins' is not a valid Python identifier"),
    "package a keyword": ({"package_name": "class"}, "error: package_name: 'class' is a Python keyword"),
    "package with upper case": ({"package_name": "Penguins"}, "error: package_name: 'Penguins' has upper case"),
    "package shadows a dependency": ({"package_name": "mlflow"}, "error: package_name: 'mlflow' would shadow"),
    "unsupported python": ({"python_version": "3.9"}, "error: python_version: '3.9' is not one of 3.11, 3.12, 3.13"),
    "s3 url malformed": ({"dvc_remote": "s3", "dvc_remote_url": "https://bucket"}, "error: dvc_remote_url: 'https://bucket' is not a valid s3 URL"),
    "gcs url for azure": ({"dvc_remote": "azure", "dvc_remote_url": "gs://bucket"}, "error: dvc_remote_url: 'gs://bucket' is not a valid azure URL"),
    "url for a local remote": ({"dvc_remote_url": "s3://bucket"}, "error: dvc_remote_url: 's3://bucket' is not a local directory path"),
    "tracking uri without scheme": ({"mlflow_tracking_uri": "mlflow.db"}, "error: mlflow_tracking_uri: 'mlflow.db' has no supported scheme"),
    "branch name invalid": ({"default_branch": "release..1"}, "error: default_branch: 'release..1' is not a valid git branch name"),
    "codeowner not a github owner": ({"codeowners": "ml team"}, "error: codeowners: 'ml team' is not a GitHub owner"),
    "email invalid": ({"author_email": "nobody"}, "error: author_email: 'nobody' is not an e-mail address"),
}  # fmt: skip


@pytest.mark.parametrize(("answers", "message"), list(BAD_ANSWERS.values()), ids=list(BAD_ANSWERS))
def test_a_bad_answer_is_refused_and_leaves_nothing(tmp_path: Path, answers: dict[str, str], message: str) -> None:
    result = bake(tmp_path, **answers)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [next(line for line in errors if line.startswith(message))], result.stderr
    assert list(tmp_path.iterdir()) == []


def test_every_bad_answer_is_reported_at_once(tmp_path: Path) -> None:
    result = bake(tmp_path, project_slug="Bad", package_name="class", author_email="x")
    assert result.returncode != 0
    assert sum(line.startswith("error: ") for line in result.stderr.splitlines()) == 3
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_choice_is_refused_by_cookiecutter_before_writing(tmp_path: Path) -> None:
    result = bake(tmp_path, task="clustering")
    assert result.returncode != 0
    assert "clustering provided for choice variable task" in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []
