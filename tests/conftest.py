"""Bake the template with the real cookiecutter into temporary folders, isolated from the user's caches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run gets its own DVC site cache; nothing reads or writes the user's."""
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path_factory.mktemp("dvc-site")))
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    # The hooks call `dvc`; make sure the one beside this interpreter is found.
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")


def bake(output_dir: Path, *, lock: bool = False, **answers: str) -> subprocess.CompletedProcess[str]:
    """Run the cookiecutter command line as a user would, with --no-input and the given answers."""
    env = dict(os.environ)
    if not lock:
        env["LASTMILE_SKIP_LOCK"] = "1"
    cmd = [str(BIN / "cookiecutter"), str(TEMPLATE), "--no-input", "--output-dir", str(output_dir)]
    cmd += [f"{key}={value}" for key, value in answers.items()]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


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
    env = dict(os.environ)
    env.update(
        BENTOML_HOME=str(root / "bentoml"),
        PRE_COMMIT_HOME=str(root / "pre-commit"),
        DVC_SITE_CACHE_DIR=str(root / "dvc-site"),
        MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}",
    )
    # The project's own .venv, whatever environment the template's tests run in.
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    env.pop("VIRTUAL_ENV", None)
    result = bake(root, lock=True)
    assert result.returncode == 0, result.stdout + result.stderr
    project = root / "penguin-species"
    make(project, "setup", env)
    make(project, "repro", env)
    git = {"cwd": project, "env": env, "check": True, "capture_output": True}
    subprocess.run(["uv", "run", "--no-sync", "dvc", "push", "--quiet"], **git)  # type: ignore[call-overload]
    subprocess.run(["git", "add", "--all"], **git)  # type: ignore[call-overload]
    subprocess.run(["git", "commit", "--quiet", "-m", "Train the first model"], **git)  # type: ignore[call-overload]
    return project, env


@pytest.fixture(scope="session")
def bento(trained: tuple[Path, dict[str, str]]) -> str:
    """The trained project's Bento, built by its own `make build`: its tag."""
    project, env = trained
    make(project, "build", env)
    return str(json.loads((project / "models/lineage.json").read_text())["bento_tag"])
