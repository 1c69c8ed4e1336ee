"""Baking the template as a user would, and the isolated environment a baked project runs in.

Shared by the tests (conftest.py) and the benchmark, so both bake, isolate and commit the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the template's environment: cookiecutter and dvc


def bake(
    output_dir: Path, *, lock: bool = False, env: dict[str, str] | None = None, **answers: str
) -> subprocess.CompletedProcess[str]:
    """Run the cookiecutter command line as a user would, with --no-input and the given answers."""
    env = dict(os.environ if env is None else env)
    if not lock:
        env["LASTMILE_SKIP_LOCK"] = "1"
    cmd = [str(BIN / "cookiecutter"), str(TEMPLATE), "--no-input", "--output-dir", str(output_dir)]
    cmd += [f"{key}={value}" for key, value in answers.items()]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def isolated_env(root: Path) -> dict[str, str]:
    """The environment for a project baked under `root`: every cache it writes lives in `root`.

    Only uv's package cache is shared, as on a developer's machine. The project uses its own .venv,
    whatever environment the caller runs in.
    """
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}}
    env.update(
        BENTOML_HOME=str(root / "bentoml"),
        PRE_COMMIT_HOME=str(root / "pre-commit"),
        DVC_SITE_CACHE_DIR=str(root / "dvc-site"),
        DVC_NO_ANALYTICS="1",
        MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}",
        UV_COMPILE_BYTECODE="1",  # as the template's Makefile sets it
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",  # the hooks call dvc
    )
    return env


def commit_trained(project: Path, env: dict[str, str]) -> None:
    """Push the pipeline's outputs to the DVC remote and commit them, so fresh clones (CI jobs) can pull them."""
    for cmd in (["uv", "run", "--no-sync", "dvc", "push", "--quiet"], ["git", "add", "--all"],
                ["git", "commit", "--quiet", "-m", "Train the first model"]):  # fmt: skip
        subprocess.run(cmd, cwd=project, env=env, check=True, capture_output=True)
