"""A baked project for the benchmark: timed from nothing to its first served prediction.

Each step is what a team runs (`cookiecutter --no-input`, then the baked Makefile), timed on its own.
Every cache a step writes (BentoML store, MLflow database, DVC site cache, pre-commit) lives in the
run's folder; only uv's package cache is shared, and warm, as on a developer's machine.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests import projects, servers

SLUG, PACKAGE = "penguin-species", "penguin_species"  # the default answers


@dataclass
class Project:
    path: Path
    env: dict[str, str]
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def python(self) -> str:
        return str(self.path / ".venv/bin/python")

    def run(self, *cmd: str, timeout: float = 1800) -> str:
        result = subprocess.run(cmd, cwd=self.path, env=self.env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise SystemExit(
                f"bench: `{' '.join(cmd)}` failed in {self.path}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        return result.stdout

    def timed(self, step: str, *cmd: str) -> None:
        started = time.perf_counter()
        self.run(*cmd)
        self.steps[step] = time.perf_counter() - started

    def lineage(self) -> dict[str, object]:
        return dict(json.loads((self.path / "models/lineage.json").read_text()))


def example_body(project: Project, rows: int = 1) -> bytes:
    """A request of `rows` copies of the project's own example record (its schema is the one source)."""
    code = f"import json; from {PACKAGE}.contract.schema import EXAMPLE_FEATURES as e; print(json.dumps({{'records': [e] * {rows}}}))"
    return project.run(project.python, "-c", code).strip().encode()


def to_first_prediction(root: Path) -> Project:
    """Bake → install → `dvc repro` → `bentoml build` → serve → first HTTP 200, each step timed."""
    root.mkdir(parents=True, exist_ok=True)
    project = Project(root / SLUG, projects.isolated_env(root))
    started = time.perf_counter()
    result = projects.bake(root, lock=True, env=project.env)
    if result.returncode != 0:
        raise SystemExit(f"bench: the bake failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    project.steps["bake"] = time.perf_counter() - started
    project.timed("install", "make", "setup")
    project.timed("dvc repro", "make", "repro")
    project.timed("bentoml build", "make", "build")
    body, port = example_body(project), servers.free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        ["make", "serve", f"PORT={port}"], cwd=project.path, env=project.env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    first = urllib.request.Request(f"http://127.0.0.1:{port}/predict", body, {"Content-Type": "application/json"})
    try:
        servers.wait_for_200(server, first)
        project.steps["serve to first 200"] = time.perf_counter() - started
    finally:
        servers.stop(server)
    project.steps["total"] = sum(project.steps.values())
    return project


def noop_repro(project: Project) -> float:
    started = time.perf_counter()
    output = project.run("make", "repro")
    seconds = time.perf_counter() - started
    if "Running stage" in output:
        raise SystemExit("bench: the second `dvc repro` ran a stage; it should have nothing to do")
    return seconds
