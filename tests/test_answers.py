"""Each class of bad answer is refused before anything is written, with one line naming it."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .projects import TEMPLATE, bake

BAD_ANSWERS = {
    "slug with upper case": ({"project_slug": "Penguins", "package_name": "penguins"}, "error: project_slug: 'Penguins' has upper case"),
    "slug not a name": ({"project_slug": "2-penguins", "package_name": "penguins"}, "error: project_slug: '2-penguins' must be lower-case"),
    "package not an identifier": ({"package_name": "pen-guins"}, "error: package_name: 'pen-guins' is not a valid Python identifier"),
    "package a keyword": ({"package_name": "class"}, "error: package_name: 'class' is a Python keyword"),
    "package with upper case": ({"package_name": "Penguins"}, "error: package_name: 'Penguins' has upper case"),
    "package shadows a dependency": ({"package_name": "mlflow"}, "error: package_name: 'mlflow' would shadow"),
    "package shadows an indirect import": ({"package_name": "starlette"}, "error: package_name: 'starlette' would shadow"),
    "package shadows the stdlib": ({"package_name": "json"}, "error: package_name: 'json' would shadow the standard library"),
    "description on two lines": ({"description": "one\ntwo"}, "error: description: 'one\\ntwo' holds a control character"),
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


def test_every_module_a_bake_imports_is_refused_as_a_package_name(baked: Path) -> None:
    """The hook's table of import names covers whatever the generated code imports besides the stdlib."""
    hook = (TEMPLATE / "hooks/pre_gen_project.py").read_text()
    table = re.search(r"DEPENDENCIES = (\{.*?\})", hook, re.DOTALL)
    assert table is not None
    refused = ast.literal_eval(table.group(1))
    package = next((baked / "src").iterdir()).name
    imported = set()
    for path in baked.rglob("*.py"):
        if ".venv" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {package, "__future__"}
    assert third_party and third_party <= refused, sorted(third_party - refused)


@pytest.mark.e2e  # installs cookiecutter and DVC into uv tool environments: about two minutes
def test_a_bake_needs_no_dvc_beside_cookiecutter(tmp_path: Path) -> None:
    """`pipx run cookiecutter`: cookiecutter alone in its environment, no dvc on PATH; the hook runs DVC with uv."""
    uv, git = shutil.which("uv"), shutil.which("git")
    assert uv and git, "the template's tests need uv and git on PATH"
    bin_dir = tmp_path / "bin"  # uv and git, beside the system's folders: no dvc, no template environment
    bin_dir.mkdir()
    for tool in (uv, git):
        (bin_dir / Path(tool).name).symlink_to(tool)
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env.update(PATH=f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin", LASTMILE_SKIP_LOCK="1")
    assert shutil.which("dvc", path=env["PATH"]) is None
    cmd = [uv, "tool", "run", "--from", "cookiecutter>=2.6", "cookiecutter", str(TEMPLATE), "--no-input",
           "--output-dir", str(tmp_path / "out")]  # fmt: skip
    (tmp_path / "out").mkdir()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    project = tmp_path / "out" / "penguin-species"
    assert (project / "data/raw/penguins.csv.dvc").exists() and (project / ".dvc/config").exists()
    log = subprocess.run(["git", "log", "--oneline"], cwd=project, capture_output=True, text=True, check=True)
    assert len(log.stdout.splitlines()) == 1
