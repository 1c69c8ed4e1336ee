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
Any `uses:` without a local equivalent (ACTIONS in actions.py) fails its step, so a workflow cannot grow a step
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
import shutil
import subprocess
import time
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import yaml

from ..github import Event, GitHub
from .actions import ACTIONS, CLOUD_VARIABLES
from .expressions import condition, evaluate, substitute
from .jobs import Job, JobResult, StepResult, read_outputs

# Set on this machine (and by tests/projects.py for a developer's bake), never on a GitHub runner.
NOT_ON_A_RUNNER = frozenset({"PYTHONDONTWRITEBYTECODE", "UV_COMPILE_BYTECODE"})


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


def ok(results: dict[str, JobResult], *expected: str) -> dict[str, JobResult]:
    """Every job that ran passed, and the ones that ran are `expected`: a job skipped by mistake fails too."""
    failed = [r.failure() for r in results.values() if not r.ok]
    assert not failed, "\n\n".join(failed)
    ran = {name for name, r in results.items() if not r.skipped}
    assert ran == set(expected), ran
    return results
