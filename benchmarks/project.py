"""A baked project for the benchmark: timed from nothing to its first served prediction.

Each step is what a team runs (`cookiecutter --no-input`, then the baked Makefile), timed on its own.
Every cache a step writes (BentoML store, MLflow database, DVC site cache, pre-commit) lives in the
run's folder; only uv's package cache is shared, and warm, as on a developer's machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the template's environment: cookiecutter and dvc
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


def isolated_env(root: Path) -> dict[str, str]:
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def first_200(url: str, body: bytes, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: the server exited with {process.returncode} before its first answer")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise SystemExit(f"bench: no 200 from {url} within {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started in its own session, with every worker it forked."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def example_body(project: Project, rows: int = 1) -> bytes:
    """A request of `rows` copies of the project's own example record (its schema is the one source)."""
    code = f"import json; from {PACKAGE}.schema import EXAMPLE_FEATURES as e; print(json.dumps({{'records': [e] * {rows}}}))"
    return project.run(project.python, "-c", code).strip().encode()


def to_first_prediction(root: Path) -> Project:
    """Bake → install → `dvc repro` → `bentoml build` → serve → first HTTP 200, each step timed."""
    root.mkdir(parents=True, exist_ok=True)
    project = Project(root / SLUG, isolated_env(root))
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "cookiecutter"), str(TEMPLATE), "--no-input", "--output-dir", str(root)],
        env=project.env, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    project.steps["bake"] = time.perf_counter() - started
    project.timed("install", "make", "setup")
    project.timed("dvc repro", "make", "repro")
    project.timed("bentoml build", "make", "build")
    body, port = example_body(project), free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        ["make", "serve", f"PORT={port}"], cwd=project.path, env=project.env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        first_200(f"http://127.0.0.1:{port}/predict", body, server)
        project.steps["serve to first 200"] = time.perf_counter() - started
    finally:
        stop(server)
    project.steps["total"] = sum(project.steps.values())
    return project


def noop_repro(project: Project) -> float:
    started = time.perf_counter()
    output = project.run("make", "repro")
    seconds = time.perf_counter() - started
    if "Running stage" in output:
        raise SystemExit("bench: the second `dvc repro` ran a stage; it should have nothing to do")
    return seconds


def commit_trained(project: Project) -> None:
    """Push the pipeline's outputs and commit them, so CI's fresh clones can pull them."""
    project.run(project.python, "-m", "dvc", "push", "--quiet")
    project.run("git", "add", "--all")
    project.run("git", "commit", "--quiet", "-m", "Train the first model")
