"""Run a GitHub Actions workflow's jobs on this machine, as GitHub would, for the template's tests.

Each job starts from a fresh clone of the repository (a fresh runner), runs its `run:` steps in order
with `bash -eo pipefail` and the GITHUB_* variables GitHub sets, and replaces each `uses:` step by a
local equivalent (ACTIONS below). An action with no local equivalent is an error, so a workflow cannot
grow a step that the template's tests silently skip. Jobs run in the order their `needs` give.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


class Context(dict[str, Any]):
    """A GitHub expression context: attribute access, and '' for what is not set (as GitHub gives)."""

    def __getattr__(self, name: str) -> Any:
        value = self.get(name, "")
        return Context(value) if isinstance(value, dict) else value


def evaluate(expression: str, contexts: dict[str, Any]) -> Any:
    """The small subset of GitHub's expression language that workflows here use."""
    python = expression.replace("&&", " and ").replace("||", " or ")
    python = re.sub(r"!(?!=)", " not ", python)
    namespace = {name: Context(value) for name, value in contexts.items()}
    namespace["hashFiles"] = lambda *patterns: "local"
    return eval(python, {"__builtins__": {}}, namespace)  # our own workflow files, in a test


def substitute(text: str, contexts: dict[str, Any]) -> str:
    return EXPRESSION.sub(lambda m: str(evaluate(m.group(1), contexts)), text)


@dataclass
class StepResult:
    name: str
    returncode: int
    seconds: float
    output: str


@dataclass
class JobResult:
    name: str
    ok: bool
    seconds: float = 0.0
    skipped: bool = False
    steps: list[StepResult] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(f"--- {s.name} (exit {s.returncode})\n{s.output}" for s in self.steps)

    def failure(self, tail: int = 3000) -> str:
        """The failing step and the end of its output: what a reader of the CI log needs."""
        if self.skipped:
            return f"{self.name}: skipped"
        step = self.steps[-1]
        return f"{self.name}: step {step.name!r} exited {step.returncode}:\n{step.output[-tail:]}"


@dataclass
class Job:
    """One job being run: its workspace, environment, and the place artifacts are exchanged."""

    name: str
    workspace: Path
    env: dict[str, str]
    artifacts: Path
    origin: Path
    sha: str


def checkout(job: Job, inputs: dict[str, str]) -> str:
    subprocess.run(["git", "clone", "--quiet", str(job.origin), str(job.workspace)], check=True)
    subprocess.run(["git", "checkout", "--quiet", job.sha], cwd=job.workspace, check=True)
    return f"cloned {job.origin} at {job.sha[:12]}"


def tool_on_path(tool: str) -> Callable[[Job, dict[str, str]], str]:
    def check(job: Job, inputs: dict[str, str]) -> str:
        found = shutil.which(tool, path=job.env["PATH"])
        if found is None:
            raise RuntimeError(f"{tool} is not on PATH")
        return f"{tool}: {found}"

    return check


def no_cache(job: Job, inputs: dict[str, str]) -> str:
    return f"cache {inputs.get('path')!r}: nothing restored locally (a cache only saves time)"


def upload(job: Job, inputs: dict[str, str]) -> str:
    """As upload-artifact does: the paths' least common ancestor becomes the artifact's root."""
    target = job.artifacts / inputs["name"]
    sources = [job.workspace / p for p in inputs["path"].split() if (job.workspace / p).exists()]
    if not sources:
        if inputs.get("if-no-files-found") == "error":
            raise RuntimeError(f"no files found for artifact {inputs['name']!r}")
        return f"artifact {inputs['name']!r}: nothing to upload"
    root = Path(os.path.commonpath(sources))
    if len(sources) == 1:
        root = sources[0] if sources[0].is_dir() else sources[0].parent
    for source in sources:
        destination = target / source.relative_to(root)
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    return f"artifact {inputs['name']!r}: {', '.join(str(s.relative_to(job.workspace)) for s in sources)}"


def download(job: Job, inputs: dict[str, str]) -> str:
    source = job.artifacts / inputs["name"]
    if not source.exists():
        raise RuntimeError(f"artifact {inputs['name']!r} was never uploaded")
    shutil.copytree(source, job.workspace / inputs.get("path", "."), dirs_exist_ok=True)
    return f"artifact {inputs['name']!r} -> {inputs.get('path', '.')}"


def github_script(job: Job, inputs: dict[str, str]) -> str:
    """No GitHub API here: check the files the script reads exist, and keep what it would post."""
    files = re.findall(r"readFileSync\(\"([^\"]+)\"", inputs["script"])
    for name in files:
        text = (job.workspace / name).read_text()
        if not text.strip():
            raise RuntimeError(f"{name} is empty")
        outbox = job.artifacts / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        (outbox / f"{job.name}-{Path(name).name}").write_text(text)
    return f"would post {', '.join(files)}"


ACTIONS: dict[str, Callable[[Job, dict[str, str]], str]] = {
    "actions/checkout": checkout,
    "astral-sh/setup-uv": tool_on_path("uv"),
    "actions/setup-python": tool_on_path("python3"),
    "actions/cache": no_cache,
    "actions/upload-artifact": upload,
    "actions/download-artifact": download,
    "actions/github-script": github_script,
}


class Runner:
    def __init__(
        self, workflow: Path, origin: Path, label: str, *, event: str = "pull_request", env: dict[str, str]
    ) -> None:
        """Jobs run in folders named `<label>-…` beside `origin`, so relative paths in the repository
        (a local DVC remote such as `../<project>-dvc-storage`) resolve as they do for the origin."""
        self.workflow = yaml.safe_load(workflow.read_text())
        self.origin, self.label, self.event, self.base_env = origin, label, event, env
        self.work = origin.parent
        self.artifacts = self.work / f"{label}-artifacts"

    @property
    def jobs(self) -> dict[str, Any]:
        return dict(self.workflow["jobs"])

    def order(self) -> list[str]:
        graph = {name: set(self._needs(job)) for name, job in self.jobs.items()}
        return list(TopologicalSorter(graph).static_order())

    @staticmethod
    def _needs(job: dict[str, Any]) -> list[str]:
        needs = job.get("needs", [])
        return [needs] if isinstance(needs, str) else list(needs)

    def run_all(self, ref: str = "HEAD") -> dict[str, JobResult]:
        results: dict[str, JobResult] = {}
        for name in self.order():
            if not all(results[n].ok for n in self._needs(self.jobs[name])):
                results[name] = JobResult(name, ok=False, skipped=True)
                continue
            results[name] = self.run_job(name, ref)
        return results

    def run_job(self, name: str, ref: str = "HEAD") -> JobResult:
        spec = self.jobs[name]
        sha = subprocess.run(["git", "rev-parse", ref], cwd=self.origin, capture_output=True, text=True, check=True)
        workspace = self.work / f"{self.label}-job-{name}"
        shutil.rmtree(workspace, ignore_errors=True)
        temp = self.work / f"{self.label}-temp-{name}"
        temp.mkdir(parents=True, exist_ok=True)
        github = {
            "event_name": self.event,
            "sha": sha.stdout.strip(),
            "ref": "refs/pull/1/merge" if self.event == "pull_request" else "refs/heads/main",
            "base_ref": "main" if self.event == "pull_request" else "",
            "head_ref": "feature" if self.event == "pull_request" else "",
            "repository": f"local/{self.origin.name}",
            "workspace": str(workspace),
            "workflow": self.workflow.get("name", ""),
            "job": name,
            "event": {"pull_request": {"number": 1}} if self.event == "pull_request" else {},
        }
        env = dict(self.base_env)
        env.update(
            CI="true", GITHUB_ACTIONS="true", GITHUB_WORKFLOW=github["workflow"], GITHUB_JOB=name,
            GITHUB_RUN_ID="1", GITHUB_RUN_NUMBER="1", GITHUB_SHA=github["sha"], GITHUB_REF=github["ref"],
            GITHUB_EVENT_NAME=self.event, GITHUB_BASE_REF=github["base_ref"], GITHUB_HEAD_REF=github["head_ref"],
            GITHUB_REPOSITORY=github["repository"], GITHUB_WORKSPACE=str(workspace), RUNNER_OS="Linux",
            RUNNER_TEMP=str(temp), GITHUB_OUTPUT=str(temp / "output"), GITHUB_ENV=str(temp / "env"),
            GITHUB_PATH=str(temp / "path"), GITHUB_STEP_SUMMARY=str(temp / "summary"),
            GITHUB_EVENT_PATH=str(temp / "event.json"),
        )  # fmt: skip
        (temp / "event.json").write_text(json.dumps(github["event"]))
        contexts: dict[str, Any] = {"github": github, "runner": {"temp": str(temp), "os": "Linux"}, "secrets": {}}
        contexts["env"] = env
        if "if" in spec and not evaluate(str(spec["if"]), contexts):
            return JobResult(name, ok=True, skipped=True)
        for scope in (self.workflow.get("env", {}), spec.get("env", {})):
            env.update({k: substitute(str(v), contexts) for k, v in scope.items()})
        job = Job(name, workspace, env, self.artifacts, self.origin, github["sha"])
        result = JobResult(name, ok=True)
        deadline = time.monotonic() + 60 * float(spec.get("timeout-minutes", 360))
        started = time.monotonic()
        for index, step in enumerate(spec["steps"]):
            step_result = self._step(job, step, index, contexts, deadline)
            result.steps.append(step_result)
            if step_result.returncode != 0:
                result.ok = False
                break
        result.seconds = time.monotonic() - started
        return result

    def _step(
        self, job: Job, step: dict[str, Any], index: int, contexts: dict[str, Any], deadline: float
    ) -> StepResult:
        started = time.monotonic()
        inputs = {k: substitute(str(v), contexts) for k, v in (step.get("with") or {}).items()}
        if "uses" in step:
            action = step["uses"].split("@")[0]
            name = step.get("name", action)
            if action not in ACTIONS:
                return StepResult(name, 1, 0.0, f"no local equivalent for {action}: add one to ACTIONS")
            try:
                output = ACTIONS[action](job, inputs)
            except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
                return StepResult(name, 1, time.monotonic() - started, str(error))
            return StepResult(name, 0, time.monotonic() - started, output)
        name = step.get("name", step["run"].splitlines()[0])
        env = dict(job.env)
        env.update({k: substitute(str(v), contexts) for k, v in (step.get("env") or {}).items()})
        script = Path(job.env["RUNNER_TEMP"]) / f"step-{index}.sh"
        script.write_text(substitute(step["run"], contexts))
        cmd = ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)]
        try:
            done = subprocess.run(
                cmd, cwd=job.workspace / step.get("working-directory", "."), env=env, capture_output=True,
                text=True, timeout=max(deadline - time.monotonic(), 1),
            )  # fmt: skip
            returncode, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as timeout:
            returncode, output = 124, f"timed out: {timeout}"
        self._absorb_env_file(job)
        return StepResult(name, returncode, time.monotonic() - started, output)

    @staticmethod
    def _absorb_env_file(job: Job) -> None:
        """What a step appends to $GITHUB_ENV and $GITHUB_PATH holds for the steps after it."""
        env_file, path_file = Path(job.env["GITHUB_ENV"]), Path(job.env["GITHUB_PATH"])
        if env_file.exists():
            for line in env_file.read_text().splitlines():
                key, _, value = line.partition("=")
                job.env[key] = value
        if path_file.exists():
            for line in path_file.read_text().splitlines():
                job.env["PATH"] = f"{line}{os.pathsep}{job.env['PATH']}"


def for_project(project: Path, env: dict[str, str], label: str, workflow: str = ".github/workflows/ci.yml") -> Runner:
    """A runner for a baked project's workflow whose jobs each get their own BentoML store and MLflow database,
    as fresh GitHub runners would."""
    job_env = {k: v for k, v in env.items() if k not in {"BENTOML_HOME", "MLFLOW_TRACKING_URI"}}
    return Runner(project / workflow, project, label, env=job_env)
