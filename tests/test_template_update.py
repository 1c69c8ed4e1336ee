"""Template updates with cruft: a repository baked at one template commit takes a later one, keeping its edits.

The template is a git copy made here (a clone of this checkout), so the test can commit a change to it
after the bake, as the template's maintainers would; the project updates with its own
`make update-template` (cruft update), from its own environment.
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


def test_a_baked_repository_takes_a_template_change_and_keeps_its_own_edits(tmp_path: Path) -> None:
    template = tmp_path / "template"
    subprocess.run(["git", "clone", "--quiet", str(TEMPLATE), str(template)], check=True)
    baked_at = git(template, "rev-parse", "HEAD").strip()
    env = isolated_env(tmp_path)
    cmd = [str(BIN / "cookiecutter"), str(template), "--no-input", "--output-dir", str(tmp_path)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    project = tmp_path / "penguin-species"
    state = json.loads((project / ".cruft.json").read_text())
    assert (state["template"], state["commit"]) == (str(template), baked_at)
    assert "cruft.json" in git(project, "ls-files")
    make(project, "setup", env)

    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur team's own note.\n")
    git(project, "commit", "--quiet", "-am", "Our own edit")
    added = "A line the template added after the bake."
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
