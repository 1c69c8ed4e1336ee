"""Run a GitHub Actions workflow's jobs on this machine, as GitHub would, for the template's tests.

A workflow runs for an event (tests/github.py makes them: a pull request's merge ref, a push, a manual
dispatch) only if its `on:` declares that event and its `paths:` filter matches the changed files.
Each job starts in an empty folder (a fresh runner). `actions/checkout` is done as the action does it:
`git init`, fetch from the origin (depth 1, or everything and the tags with `fetch-depth: 0`), then for
a pull request a detached HEAD at `refs/pull/<n>/merge` with no local branch at all, for a push a
local branch at the pushed commit, and for `pull_request_target` (a pull request seen by a workflow
that takes the base branch's side) the base branch's last commit; git notes are never fetched. Run steps get `bash -eo pipefail` and
the variables GitHub sets (GITHUB_EVENT_PATH holds a payload shaped like GitHub's), only the `secrets`
and `vars` a test gives, and `gh` is the recording stand-in of tests/github.py. Step and job `if:`,
`steps.<id>.outputs`, job `outputs` and `needs.<job>.result`/`outputs` work as GitHub evaluates them.
Any `uses:` without a local equivalent (ACTIONS below) fails its step, so a workflow cannot grow a step
that the tests silently skip.

How this is kinder than GitHub, and what covers the gap:
- Jobs run one after another on one machine; GitHub runs independent jobs in parallel on fresh VMs.
  Each job still gets its own workspace, BentoML store and MLflow database (for_project).
- Jobs run in a folder of their own (`<label>-runner/`), where a relative DVC remote configured in the
  repository (`../<slug>-dvc-storage`, a fresh bake's) does not exist, as on GitHub. A test about
  something else may pass `beside_origin=True`: jobs then run beside the origin and that folder, like
  self-hosted runners sharing a disk with it.
- Cloud logins are stand-ins (CLOUD_LOGINS): `aws-actions/configure-aws-credentials` checks that the job
  may ask for an OIDC token (`id-token: write`) and was given a role and a region, then hands the job
  the credentials the test gives for that cloud, as AWS's STS would after the token exchange, which
  cannot happen here; no trust policy is checked. No other cloud's login has a stand-in. Jobs never
  see the test's own AWS_*, GOOGLE_* or AZURE_* variables.
- The workflow file is read from the project folder the runner is given; GitHub reads a pull_request
  run's from the merge commit and a pull_request_target run's from the base branch. The tests never
  change workflow files in a pull request.
- `actions/cache` restores nothing (a cache only saves time); `setup-uv` checks uv is on PATH.
- `environment:` reviewers and `concurrency:` groups are not simulated: they gate when a job runs, not
  what it does; the reconciliation that makes a cancelled deploy harmless is tested directly.
- The expression language is the subset these workflows use, evaluated by Python; `cancelled()` is
  always false: no run is ever cancelled here.
- The origin is reached through a file:// URL, which needs no credentials: a step that fetches or pushes
  without its token would fail on a private GitHub repository and passes here. The workflows give a
  token to each step that reaches origin (release/adapters/gitrepo.py `remote`); nothing here checks it.
- Jobs inherit the test's environment (HOME, the machine's git identity), where a GitHub runner has
  its own; the deploy jobs set the identity they commit notes with themselves. Two of this machine's
  settings a runner does not have are left out (NOT_ON_A_RUNNER): without them each job installs its
  environment as a GitHub runner does, and Python writes bytecode for what the job imports, where
  compiling every installed file cost each job's `make setup` two minutes more than that (measured with
  the load of parallel test runs).
- A job's `environment:` gives it that Environment's `vars` and `secrets` (the `environments` a test
  passes) over the repository's, as GitHub does; its `url:`, reviewers and protection rules are not shown.
- `docker/login-action` is accepted without asking the registry (REGISTRY_STANDINS): it checks its
  inputs and that the job may write packages (what a push to GHCR with the job's token needs), and
  remembers the registry for the job. `actions/attest-build-provenance` checks the job may ask for an
  OIDC token and write attestations, that the subject is one digest, and (with `push-to-registry`) that
  the job logged in to the subject's registry and that the registry holds the subject, asked over plain
  HTTP; it records the call. Nothing is signed (no Sigstore, no token exchange) and nothing is stored
  beside the image. Both calls go to `<label>-actions.jsonl` in the runner's folder.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import yaml

from .github import Event, GitHub

EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
STATUS_FUNCTIONS = re.compile(r"\b(always|success|failure|cancelled)\(\)")
# Set on this machine (and by tests/projects.py for a developer's bake), never on a GitHub runner.
NOT_ON_A_RUNNER = frozenset({"PYTHONDONTWRITEBYTECODE", "UV_COMPILE_BYTECODE"})


class Context(dict[str, Any]):
    """A GitHub expression context: attribute access, and '' for what is not set (as GitHub gives)."""

    def __getattr__(self, name: str) -> Any:
        value = self.get(name, "")
        return Context(value) if isinstance(value, dict) else value

    def __getitem__(self, name: str) -> Any:
        value = self.get(name, "")
        return Context(value) if isinstance(value, dict) else value


def evaluate(expression: str, contexts: dict[str, Any], status: str = "success") -> Any:
    """The small subset of GitHub's expression language that the workflows here use."""
    python = expression.replace("&&", " and ").replace("||", " or ")
    python = re.sub(r"!(?!=)", " not ", python)
    namespace: dict[str, Any] = {name: Context(value) for name, value in contexts.items()}
    namespace.update(
        hashFiles=lambda *patterns: "local",
        format=lambda text, *args: re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1))]), text),
        always=lambda: True,
        success=lambda: status == "success",
        failure=lambda: status == "failure",
        cancelled=lambda: False,
    )
    return eval(python, {"__builtins__": {}}, namespace)  # our own workflow files, in a test


def substitute(text: str, contexts: dict[str, Any]) -> str:
    return EXPRESSION.sub(lambda m: str(evaluate(m.group(1), contexts)), text)


def condition(spec: dict[str, Any]) -> str:
    """A step's or job's `if:`, with GitHub's implicit `success() &&` when it names no status function."""
    text = str(spec.get("if", "success()")).strip()
    text = EXPRESSION.sub(lambda m: m.group(1), text)
    return text if STATUS_FUNCTIONS.search(text) else f"success() && ({text})"


def read_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT's `name=value` lines and `name<<DELIMITER` blocks."""
    outputs: dict[str, str] = {}
    if not path.exists():
        return outputs
    lines = iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            outputs[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


@dataclass
class StepResult:
    name: str
    returncode: int
    seconds: float
    output: str
    skipped: bool = False


@dataclass
class JobResult:
    name: str
    ok: bool
    seconds: float = 0.0
    skipped: bool = False
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    workspace: Path | None = None

    @property
    def result(self) -> str:
        return "skipped" if self.skipped else "success" if self.ok else "failure"

    @property
    def output(self) -> str:
        return "\n".join(f"--- {s.name} (exit {s.returncode})\n{s.output}" for s in self.steps if not s.skipped)

    def failure(self, tail: int = 3000) -> str:
        """The failing step and the end of its output: what a reader of the CI log needs."""
        if self.skipped:
            return f"{self.name}: skipped"
        failed = [s for s in self.steps if s.returncode != 0] or self.steps[-1:]
        step = failed[0]
        return f"{self.name}: step {step.name!r} exited {step.returncode}:\n{step.output[-tail:]}"


@dataclass
class Job:
    """One job being run: its workspace, environment, and the place artifacts are exchanged."""

    name: str
    workspace: Path
    env: dict[str, str]
    artifacts: Path
    origin: Path
    event: Event
    permissions: dict[str, str] = field(default_factory=dict)
    clouds: dict[str, dict[str, str]] = field(default_factory=dict)
    actions_log: Path | None = None  # where the registry stand-ins record their calls
    logins: set[str] = field(default_factory=set)  # the registries docker/login-action logged in to


def checkout(job: Job, inputs: dict[str, str]) -> str:
    """As actions/checkout does it: a new repository that fetches only what the event and the depth give."""
    workspace, event = job.workspace, job.event
    workspace.mkdir(parents=True, exist_ok=True)

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=workspace, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "--quiet")
    git("remote", "add", "origin", job.origin.resolve().as_uri())
    pull = event.name == "pull_request"
    remote = (
        f"refs/remotes/pull/{event.ref.split('/')[2]}/merge"
        if pull
        else f"refs/remotes/origin/{event.ref.removeprefix('refs/heads/')}"
    )
    if str(inputs.get("fetch-depth", "1")) == "0":
        git(
            "fetch",
            "--quiet",
            "--prune",
            "origin",
            "+refs/heads/*:refs/remotes/origin/*",
            "+refs/tags/*:refs/tags/*",
            f"+{event.ref}:{remote}",
        )
    else:
        git("fetch", "--quiet", "--depth=1", "--no-tags", "origin", f"+{event.ref}:{remote}")
    found = git("rev-parse", remote)
    if found != event.sha:
        raise RuntimeError(f"{event.ref} is at {found[:12]}, the event says {event.sha[:12]}")
    if pull:
        git("checkout", "--quiet", "--detach", remote)
        return f"detached HEAD at {event.ref} ({event.sha[:12]}), no local branch"
    branch = event.ref.removeprefix("refs/heads/")
    git("checkout", "--quiet", "-B", branch, remote)
    return f"branch {branch} at {event.sha[:12]}"


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


def aws_login(job: Job, inputs: dict[str, str]) -> str:
    """aws-actions/configure-aws-credentials with `role-to-assume`: OIDC, as the action does it."""
    if job.permissions.get("id-token") != "write":
        raise RuntimeError(
            "Credentials could not be loaded: the job may not request an OIDC token (permissions: id-token: write)"
        )
    for name in ("role-to-assume", "aws-region"):
        if not inputs.get(name):
            raise RuntimeError(f"Input required and not supplied: {name}")
    if "aws" not in job.clouds:
        raise RuntimeError(f"could not assume {inputs['role-to-assume']}: the test gave no AWS credentials")
    job.env.update(job.clouds["aws"], AWS_REGION=inputs["aws-region"], AWS_DEFAULT_REGION=inputs["aws-region"])
    return f"assumed {inputs['role-to-assume']} in {inputs['aws-region']} (OIDC stand-in)"


def record(job: Job, action: str, inputs: dict[str, str]) -> None:
    if job.actions_log is not None:
        secret = {"password"}  # a token is recorded as given or not, never by value
        entry = {k: (bool(v) if k in secret else v) for k, v in inputs.items()}
        with job.actions_log.open("a") as log:
            log.write(json.dumps({"job": job.name, "action": action, "inputs": entry}) + "\n")


def registry_login(job: Job, inputs: dict[str, str]) -> str:
    """docker/login-action: accepted (no registry is asked), once its inputs and the job's permissions fit."""
    for name in ("registry", "username", "password"):
        if not inputs.get(name):
            raise RuntimeError(f"Input required and not supplied: {name}")
    if job.permissions.get("packages") != "write":
        raise RuntimeError("denied: the job's token may not write packages (permissions: packages: write)")
    job.logins.add(inputs["registry"])
    record(job, "docker/login-action", inputs)
    return f"logged in to {inputs['registry']} as {inputs['username']} (stand-in: accepted)"


def attest_provenance(job: Job, inputs: dict[str, str]) -> str:
    """actions/attest-build-provenance for an image: what the action needs of the job, checked; nothing signed."""
    missing = [p for p in ("id-token", "attestations") if job.permissions.get(p) != "write"]
    if missing:
        raise RuntimeError(f"the job may not attest: permissions {', '.join(f'{p}: write' for p in missing)} needed")
    name, digest = inputs.get("subject-name", ""), inputs.get("subject-digest", "")
    if not name or not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise RuntimeError(f"subject-name and a subject-digest sha256:<64 hex> are needed, got {name!r} {digest!r}")
    if str(inputs.get("push-to-registry", "false")).lower() == "true":
        host, _, repository = name.partition("/")
        if host not in job.logins:
            raise RuntimeError(f"push-to-registry: not logged in to {host}")
        url = f"http://{host}/v2/{repository}/manifests/{digest}"
        accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD", headers={"Accept": accept}), timeout=10):
            pass  # an HTTPError (404: no such image) fails the step
    record(job, "actions/attest-build-provenance", inputs)
    return f"attested the build provenance of {name}@{digest} (stand-in: recorded, not signed)"


REGISTRY_STANDINS: dict[str, Callable[[Job, dict[str, str]], str]] = {
    "docker/login-action": registry_login,
    "actions/attest-build-provenance": attest_provenance,
}

CLOUD_LOGINS: dict[str, Callable[[Job, dict[str, str]], str]] = {
    "aws-actions/configure-aws-credentials": aws_login,
}
CLOUD_VARIABLES = ("AWS_", "GOOGLE_", "AZURE_", "ARM_")

ACTIONS: dict[str, Callable[[Job, dict[str, str]], str]] = {
    **CLOUD_LOGINS,
    **REGISTRY_STANDINS,
    "actions/checkout": checkout,
    "astral-sh/setup-uv": tool_on_path("uv"),
    "actions/setup-python": tool_on_path("python3"),
    "actions/cache": no_cache,
    "actions/upload-artifact": upload,
    "actions/download-artifact": download,
}


def triggered(workflow: dict[str, Any], event: Event) -> bool:
    """Whether the workflow's `on:` takes this event, its branches and its paths."""
    on = workflow.get(True, workflow.get("on"))  # YAML 1.1 reads a bare `on` as True
    if isinstance(on, str | list):
        return event.name in ([on] if isinstance(on, str) else on)
    if event.name not in on:
        return False
    spec = on[event.name] or {}
    branch = event.base_ref if event.name.startswith("pull_request") else event.ref.removeprefix("refs/heads/")
    if "branches" in spec and not any(fnmatch.fnmatch(branch, pattern) for pattern in spec["branches"]):
        return False
    if "paths" in spec and event.name != "workflow_dispatch":
        return any(fnmatch.fnmatch(path, pattern) for path in event.changed for pattern in spec["paths"])
    return True


class Runner:
    def __init__(
        self,
        workflow: Path,
        github: GitHub,
        label: str,
        *,
        env: dict[str, str],
        secrets: dict[str, str] | None = None,
        variables: dict[str, str] | None = None,
        clouds: dict[str, dict[str, str]] | None = None,
        beside_origin: bool = False,
        environments: dict[str, dict[str, dict[str, str]]] | None = None,
    ) -> None:
        """Jobs run in folders of their own, `<label>-runner/<label>-job-<name>` beside the origin; with
        `beside_origin`, in `<label>-job-<name>` beside it, where a relative DVC remote of the repository
        (`../<project>-dvc-storage`) resolves as it does for the origin. `clouds` holds what each cloud's
        OIDC login hands a job (for "aws": AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, …); `environments` each
        GitHub Environment's {"vars": …, "secrets": …}."""
        self.file = workflow.name
        self.workflow = yaml.safe_load(workflow.read_text())
        self.github, self.label = github, label
        self.base_env = {k: v for k, v in env.items() if not k.startswith(CLOUD_VARIABLES) and k not in NOT_ON_A_RUNNER}
        self.secrets, self.variables, self.clouds = dict(secrets or {}), dict(variables or {}), dict(clouds or {})
        self.work = github.origin.parent if beside_origin else github.origin.parent / f"{label}-runner"
        self.artifacts = self.work / f"{label}-artifacts"
        self.environments = dict(environments or {})
        self.actions_log = self.work / f"{label}-actions.jsonl"

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

    def run_all(self, event: Event, only: set[str] | None = None) -> dict[str, JobResult]:
        """Every job, in the order `needs` gives; None of them if the workflow does not take the event."""
        if event.name == "pull_request" and not triggered(self.workflow, event):
            event = event.as_target()  # a pull request starts both kinds of workflow
        if not triggered(self.workflow, event):
            return {}
        shutil.rmtree(self.artifacts, ignore_errors=True)
        results: dict[str, JobResult] = {}
        for name in self.order():
            if only is not None and name not in only:
                continue
            results[name] = self.run_job(name, event, results)
        return results

    def run_job(self, name: str, event: Event, done: dict[str, JobResult] | None = None) -> JobResult:
        spec = self.jobs[name]
        done = done or {}
        workspace = self.work / f"{self.label}-job-{name}"
        shutil.rmtree(workspace, ignore_errors=True)
        temp = self.work / f"{self.label}-temp-{name}"
        shutil.rmtree(temp, ignore_errors=True)
        temp.mkdir(parents=True)
        (temp / "event.json").write_text(json.dumps(event.payload))
        github = {
            "event_name": event.name, "sha": event.sha, "ref": event.ref, "base_ref": event.base_ref,
            "head_ref": event.head_ref, "repository": self.github.repository, "workspace": str(workspace),
            "workflow": self.workflow.get("name", ""), "job": name, "event": event.payload, "token": "ghs-test-token",
            "actor": "github-actions-test", "repository_owner": self.github.repository.split("/")[0],
        }  # fmt: skip
        needs = {n: {"result": done[n].result, "outputs": done[n].outputs} for n in self._needs(spec) if n in done}
        status = "success" if all(n["result"] == "success" for n in needs.values()) else "failure"
        environment = spec.get("environment", "")
        scoped = self.environments.get(environment["name"] if isinstance(environment, dict) else environment, {})
        contexts: dict[str, Any] = {"github": github, "runner": {"temp": str(temp), "os": "Linux"}, "needs": needs,
                                    "secrets": self.secrets | scoped.get("secrets", {}),
                                    "vars": self.variables | scoped.get("vars", {}), "steps": {}}  # fmt: skip
        if not evaluate(condition(spec), contexts, status):
            return JobResult(name, ok=True, skipped=True)
        env = dict(self.base_env)
        env["PATH"] = f"{self.github.bin}{os.pathsep}{env['PATH']}"
        env.update(
            CI="true", GITHUB_ACTIONS="true", GITHUB_WORKFLOW=github["workflow"], GITHUB_JOB=name,
            GITHUB_RUN_ID="1", GITHUB_RUN_NUMBER="1", GITHUB_SHA=event.sha, GITHUB_REF=event.ref,
            GITHUB_EVENT_NAME=event.name, GITHUB_BASE_REF=event.base_ref, GITHUB_HEAD_REF=event.head_ref,
            GITHUB_REPOSITORY=self.github.repository, GITHUB_WORKSPACE=str(workspace), RUNNER_OS="Linux",
            RUNNER_TEMP=str(temp), GITHUB_ENV=str(temp / "env"), GITHUB_PATH=str(temp / "path"),
            GITHUB_STEP_SUMMARY=str(temp / "summary"), GITHUB_EVENT_PATH=str(temp / "event.json"),
            GITHUB_ACTOR=github["actor"], GITHUB_REPOSITORY_OWNER=github["repository_owner"],
        )  # fmt: skip
        contexts["env"] = env
        for scope in (self.workflow.get("env", {}), spec.get("env", {})):
            env.update({k: substitute(str(v), contexts) for k, v in scope.items()})
        permissions = spec.get("permissions", self.workflow.get("permissions"))
        permissions = permissions if isinstance(permissions, dict) else {}  # read-all / write-all: no id-token
        job = Job(name, workspace, env, self.artifacts, self.github.origin, event, permissions, self.clouds,
                  self.actions_log)  # fmt: skip
        result = JobResult(name, ok=True, workspace=workspace)
        deadline = time.monotonic() + 60 * float(spec.get("timeout-minutes", 360))
        started = time.monotonic()
        for index, step in enumerate(spec["steps"]):
            status = "success" if result.ok else "failure"
            if not evaluate(condition(step), contexts, status):
                result.steps.append(StepResult(step.get("name", f"step {index}"), 0, 0.0, "", skipped=True))
                if "id" in step:
                    contexts["steps"][step["id"]] = {"outcome": "skipped", "conclusion": "skipped", "outputs": {}}
                continue
            step_result, outputs = self._step(job, step, index, contexts, deadline)
            result.steps.append(step_result)
            if "id" in step:
                outcome = "success" if step_result.returncode == 0 else "failure"
                contexts["steps"][step["id"]] = {"outcome": outcome, "conclusion": outcome, "outputs": outputs}
            if step_result.returncode != 0:
                result.ok = False
        result.outputs = {k: substitute(str(v), contexts) for k, v in (spec.get("outputs") or {}).items()}
        result.seconds = time.monotonic() - started
        return result

    def _step(
        self, job: Job, step: dict[str, Any], index: int, contexts: dict[str, Any], deadline: float
    ) -> tuple[StepResult, dict[str, str]]:
        started = time.monotonic()
        # GitHub hands an action its inputs as strings: YAML's `true` arrives as "true".
        given = (step.get("with") or {}).items()
        inputs = {k: substitute(json.dumps(v) if isinstance(v, bool) else str(v), contexts) for k, v in given}
        if "uses" in step:
            action = step["uses"].split("@")[0]
            name = step.get("name", action)
            if action not in ACTIONS:
                return StepResult(name, 1, 0.0, f"no local equivalent for {action}: add one to ACTIONS"), {}
            try:
                output = ACTIONS[action](job, inputs)
            except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
                detail = getattr(error, "stderr", b"") or b""
                return StepResult(name, 1, time.monotonic() - started, f"{error}\n{detail!r}"), {}
            return StepResult(name, 0, time.monotonic() - started, output), {}
        name = step.get("name", step["run"].splitlines()[0])
        env = dict(job.env)
        env.update({k: substitute(str(v), contexts) for k, v in (step.get("env") or {}).items()})
        outputs_file = Path(job.env["RUNNER_TEMP"]) / f"output-{index}"
        env["GITHUB_OUTPUT"] = str(outputs_file)  # a file per step, as GitHub gives
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
        return StepResult(name, returncode, time.monotonic() - started, output), read_outputs(outputs_file)

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


def for_project(
    project: Path,
    env: dict[str, str],
    label: str,
    workflow: str = "ci.yml",
    github: GitHub | None = None,
    **options: Any,
) -> Runner:
    """A runner for a baked project's workflow whose jobs each get their own BentoML store and MLflow
    database, as fresh GitHub runners would. Without `github`, the project itself is the origin."""
    job_env = {k: v for k, v in env.items() if k not in {"BENTOML_HOME", "MLFLOW_TRACKING_URI"}}
    github = github or GitHub(project, project.parent / f"{label}-github")
    return Runner(project / ".github/workflows" / workflow, github, label, env=job_env, **options)
