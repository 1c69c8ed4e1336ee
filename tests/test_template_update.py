"""Template updates with cruft: a repository baked at one template commit takes a later one, keeping its edits.

The template is a git copy made here (a clone of this checkout), so a test can commit a change to it
after the bake, as the template's maintainers would; the project updates with its own
`make update-template` (cruft update). Both bake paths are covered: cookiecutter, and `cruft create`
(the way cruft's docs bake a template), which must leave a repository equal in kind.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import make
from .projects import BIN, TEMPLATE, isolated_env

pytestmark = pytest.mark.e2e
GIT_ID = ["-c", "user.name=Template Maintainer", "-c", "user.email=maintainer@example.com"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def template_copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The template's git copy, and one environment for the bakes from it.

    Both bakes lock the same dependencies, so they share one virtual environment (UV_PROJECT_ENVIRONMENT):
    the second `make setup` only swaps the editable project instead of installing everything again.
    """
    root = tmp_path_factory.mktemp("template-update")
    template = root / "template"
    subprocess.run(["git", "clone", "--quiet", str(TEMPLATE), str(template)], check=True)
    env = isolated_env(root)
    env["UV_PROJECT_ENVIRONMENT"] = str(root / "venv")
    return template, env


def takes_a_template_change(project: Path, template: Path, env: dict[str, str], added: str) -> None:
    """Commit a local edit and a template change; `make update-template` brings only the change."""
    make(project, "setup", env)
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur team's own note.\n")
    git(project, "commit", "--quiet", "-am", "Our own edit")
    architecture = template / "{{cookiecutter.project_slug}}/docs/architecture.md"
    architecture.write_text(architecture.read_text() + f"\n{added}\n")
    git(template, "commit", "--quiet", "-am", "Template change")
    updated_to = git(template, "rev-parse", "HEAD").strip()

    lagging = subprocess.run(["make", "check-template"], cwd=project, env=env, capture_output=True, text=True)
    assert lagging.returncode != 0  # what ci.yml turns into a warning
    out = make(project, "update-template", env)
    assert "ChangesetUnicodeError" not in out
    assert added in (project / "docs/architecture.md").read_text()
    assert "Our team's own note." in readme.read_text()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == updated_to
    # Only the template's change and cruft's record: no DVC, git or lock state from the renders.
    changed = {line[3:] for line in git(project, "status", "--porcelain").splitlines()}
    assert changed == {"docs/architecture.md", ".cruft.json"}
    make(project, "check-template", env)


def bake(tool: list[str], template: Path, out: Path, env: dict[str, str]) -> Path:
    """Bake the template copy with `tool` as its users do; the repository is committed clean, `.cruft.json`
    (cruft's own, for `cruft create`: written after the hook) tracked and naming the template's commit."""
    baked_at = git(template, "rev-parse", "HEAD").strip()
    result = subprocess.run([*tool, str(template), "--no-input", "--output-dir", str(out)], env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    project = out / "penguin-species"
    assert git(project, "status", "--porcelain") == ""
    assert {".cruft.json", "uv.lock", "data/raw/penguins.csv.dvc"} <= set(git(project, "ls-files").splitlines())
    state = json.loads((project / ".cruft.json").read_text())
    assert (state["template"], state["commit"]) == (str(template), baked_at)
    return project


def test_cruft_create_bakes_a_committed_repository_that_cruft_update_follows(
    template_copy: tuple[Path, dict[str, str]],
) -> None:
    template, env = template_copy
    out = template.parent / "cruft-create"
    project = bake([str(BIN / "cruft"), "create"], template, out, env)
    cloud = subprocess.run([str(BIN / "dvc"), "status", "--cloud", "--json"], cwd=project, env=env,
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert json.loads(cloud.stdout) == {}, cloud.stdout  # the data is in the local remote
    assert any(path.is_file() for path in (out / "penguin-species-dvc-storage").rglob("*"))

    takes_a_template_change(project, template, env, "A line the template added after `cruft create`.")


def test_a_baked_repository_takes_a_template_change_and_keeps_its_own_edits(
    template_copy: tuple[Path, dict[str, str]],
) -> None:
    template, env = template_copy
    project = bake([str(BIN / "cookiecutter")], template, template.parent / "cookiecutter", env)
    takes_a_template_change(project, template, env, "A line the template added after the cookiecutter bake.")
