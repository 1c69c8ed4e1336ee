"""Bake the template with the real cookiecutter into temporary folders, isolated from the user's caches."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .projects import BIN, bake, commit_trained, isolated_env


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run gets its own DVC site cache; nothing reads or writes the user's."""
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path_factory.mktemp("dvc-site")))
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    # The hooks call `dvc`; make sure the one beside this interpreter is found.
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def baked(tmp_path: Path) -> Iterator[Path]:
    """The default project, baked once for a test."""
    result = bake(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (project,) = [p for p in tmp_path.iterdir() if p.is_dir() and (p / ".git").exists()]
    yield project


def make(project: Path, target: str, env: dict[str, str]) -> str:
    """Run one of the baked project's make targets, as its docs and CI do; fail with its output."""
    result = subprocess.run(["make", target], cwd=project, env=env, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"make {target} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout + result.stderr


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The default project, baked with its lock file, trained, committed and pushed: a team's first day.

    Its caches (BentoML store, pre-commit, MLflow, DVC site cache) live in the test's folder.
    """
    root = tmp_path_factory.mktemp("trained")
    env = isolated_env(root)
    result = bake(root, lock=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    project = root / "penguin-species"
    make(project, "setup", env)
    make(project, "repro", env)
    commit_trained(project, env)
    return project, env


@pytest.fixture(scope="session")
def bento(trained: tuple[Path, dict[str, str]]) -> str:
    """The trained project's Bento, built by its own `make build`: its tag."""
    project, env = trained
    make(project, "build", env)
    return str(json.loads((project / "models/lineage.json").read_text())["bento_tag"])
