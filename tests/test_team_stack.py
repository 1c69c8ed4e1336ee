"""The shared team stack, for real (tests/stack.py): DVC on an S3-compatible server, and MLflow on a
tracking server backed by PostgreSQL whose artifacts go to that S3. The workflows run as on
GitHub-hosted runners: no folder beside the origin, credentials only as repository variables and the
stand-in OIDC login (tests/workflows/), MLflow only from a variable.

- A fresh (default) bake pushed to GitHub fails the first step of its first CI job with one line naming
  the command that fixes it; after `make remote URL=s3://…` the same repository runs every job green.
- A bake with `dvc_remote=s3`: two clones train on two branches and register two versions in the shared
  registry; a promotion's deploy points the environment's alias at its version; a third clone in
  another folder pulls data and models and reproduces nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import servers
from .conftest import make
from .github import Event, GitHub
from .projects import bake, isolated_env
from .stack import CREDENTIALS, REGION, Stack, team_stack
from .workflows.runner import for_project, ok

pytestmark = pytest.mark.e2e
BUCKET = "team-dvc"
# Repository variables a team sets (docs/team-setup.md); the role is only ever named, never a key.
VARIABLES = {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/penguin-species-ci", "AWS_REGION": REGION}
CLOUDS = {"aws": dict(CREDENTIALS)}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with team_stack(tmp_path_factory.mktemp("stack")) as started:
        started.bucket(BUCKET)
        yield started


def run(cwd: Path, env: dict[str, str], *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    if check:
        assert result.returncode == 0, f"{' '.join(cmd)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def pushed(github: GitHub, clone: Path, env: dict[str, str]) -> Event:
    before = github.sha("refs/heads/main")
    run(clone, env, "git", "push", "--quiet", "origin", "main")
    return github.push_event(before, github.sha("refs/heads/main"))


def test_a_fresh_bake_fails_its_first_ci_step_until_make_remote_moves_the_data(
    trained: tuple[Path, dict[str, str]], stack: Stack
) -> None:
    project, env = trained
    env = env | stack.env() | {"MLFLOW_TRACKING_URI": env["MLFLOW_TRACKING_URI"]}  # a laptop's own MLflow
    origin = project.parent / "moved-origin.git"
    run(project.parent, env, "git", "clone", "--quiet", "--bare", str(project), str(origin))
    clone = project.parent / "penguin-species-moved"  # beside the bake's folder remote, as its author's clone
    run(project.parent, env, "git", "clone", "--quiet", str(origin), str(clone))
    make(clone, "setup", env)
    run(clone, env, "uv", "run", "--no-sync", "dvc", "pull", "--quiet")
    github = GitHub(origin, project.parent / "moved-github")
    main = github.sha("refs/heads/main")

    first = for_project(clone, env, "moved-local", github=github).run_all(github.push_event(f"{main}^", main))
    lint = first["lint"]
    assert not lint.ok
    (failed,) = [s for s in lint.steps if s.returncode != 0]
    assert failed.name == "make check-remote", lint.failure()
    said = [line for line in failed.output.splitlines() if line.startswith("check-remote:")]
    assert len(said) == 1 and "a GitHub runner never does" in said[0] and "make remote URL=s3://" in said[0], said
    assert "Traceback" not in failed.output
    assert all(r.skipped for name, r in first.items() if name != "lint")

    # Bad input changes nothing: an unknown scheme, a secret in the URL.
    config = (clone / ".dvc/config").read_text()
    for url, reason in [
        ("ftp://host/data", "DVC remotes here are s3://"),
        ("s3://key:secret@bucket/x", "credentials never go in git"),
    ]:
        refused = run(clone, env, "make", "remote", f"URL={url}", check=False)
        assert refused.returncode != 0 and reason in refused.stderr, refused.stderr
    assert (clone / ".dvc/config").read_text() == config
    assert run(clone, env, "git", "status", "--porcelain").stdout == ""

    moved = run(clone, env, "make", "remote", f"URL=s3://{BUCKET}/moved", f"ENDPOINT={stack.s3}")
    assert f"remote: DVC pushes to s3://{BUCKET}/moved" in moved.stdout
    committed = run(clone, env, "git", "show", "--name-only", "--format=", "HEAD").stdout.split()
    assert set(committed) == {".dvc/config", "pyproject.toml", "uv.lock"}  # dvc[s3] added, no secret
    assert "team-secret" not in run(clone, env, "git", "show", "HEAD").stdout
    assert any(key.startswith("moved/files/md5/") for key in stack.objects(BUCKET))

    # A push to a bucket that does not exist fails, and leaves the configuration as it was.
    failing = run(clone, env, "make", "remote", "URL=s3://no-such-bucket/x", f"ENDPOINT={stack.s3}", check=False)
    assert failing.returncode != 0 and "nothing was changed" in failing.stderr, failing.stderr
    assert f"s3://{BUCKET}/moved" in (clone / ".dvc/config").read_text()

    green = for_project(clone, env, "moved-s3", github=github, variables=VARIABLES, clouds=CLOUDS)
    results = ok(
        green.run_all(pushed(github, clone, env)), "lint", "unit", "data", "performance", "build", "acceptance"
    )
    assert "assumed arn:aws:iam::123456789012:role/penguin-species-ci" in results["data"].output


class Team:
    """A bake with dvc_remote=s3 on the team stack, its GitHub, and its people's clones."""

    def __init__(self, root: Path, stack: Stack) -> None:
        self.root, self.stack = root, stack
        self.env = isolated_env(root) | stack.env()  # a team member's shell: keys for S3, the server's URI
        self.origin = root / "origin.git"
        self.github = GitHub(self.origin, root / "github")

    def publish(self, clone: Path) -> None:
        """The first push to GitHub: the clone's history becomes the origin's."""
        run(self.root, self.env, "git", "clone", "--quiet", "--bare", str(clone), str(self.origin))
        run(clone, self.env, "git", "remote", "add", "origin", str(self.origin))
        run(clone, self.env, "git", "fetch", "--quiet", "origin")

    def clone(self, name: str) -> Path:
        path = self.root / name
        run(self.root, self.env, "git", "clone", "--quiet", str(self.origin), str(path))
        make(path, "setup", self.env)
        return path

    def workflow(self, project: Path, name: str, label: str) -> Any:
        variables = VARIABLES | {"MLFLOW_TRACKING_URI": self.stack.mlflow, "DEPLOY_TARGET": "local"}
        return for_project(project, self.env, label, workflow=name, github=self.github, variables=variables,
                           clouds=CLOUDS)  # fmt: skip

    def train(self, clone: Path, branch: str, **params: int) -> str:
        """Retrain on a branch (the run goes to the team's server), push data and commit, register."""
        run(clone, self.env, "git", "switch", "--quiet", "--create", branch)
        text = (clone / "params.yaml").read_text()
        for name, value in params.items():
            text = re.sub(rf"(?m)^(\s+{name}:) \S+", rf"\g<1> {value}", text, count=1)
        (clone / "params.yaml").write_text(text)
        make(clone, "repro", self.env)
        run(clone, self.env, "uv", "run", "--no-sync", "dvc", "push", "--quiet")
        run(clone, self.env, "git", "add", "--all")
        run(clone, self.env, "git", "commit", "--quiet", "-m", f"Train with {params}")
        run(clone, self.env, "git", "push", "--quiet", "origin", branch)
        out = make(clone, "register", self.env)
        return re.search(r"is registry version (\d+)", out).group(1)  # type: ignore[union-attr]


def version_by_alias(stack: Stack, alias: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(stack.mlflow, stack.mlflow).get_model_version_by_alias("penguin_species", alias)


def test_two_clones_register_two_versions_a_deploy_sets_the_alias_and_a_fresh_clone_pulls_everything(
    tmp_path_factory: pytest.TempPathFactory, stack: Stack
) -> None:
    root = tmp_path_factory.mktemp("team")
    env = isolated_env(root) | stack.env()
    result = bake(root, lock=True, env=env, dvc_remote="s3", dvc_remote_url=f"s3://{BUCKET}/penguin-species")
    assert result.returncode == 0, result.stdout + result.stderr
    alice = root / "penguin-species"
    make(alice, "setup", env)
    run(alice, env, "make", "remote", f"URL=s3://{BUCKET}/penguin-species", f"ENDPOINT={stack.s3}")
    team = Team(root, stack)
    team.publish(alice)

    bob = team.clone("bob")
    first = team.train(alice, "train/alice", max_iter=120)
    make(bob, "data", team.env)  # the raw data, from S3
    second = team.train(bob, "train/bob", max_iter=60)
    assert (first, second) == ("1", "2")  # one registry numbers both, however many clones train

    # The pull request merges Alice's model; CI registers it on the default branch: the same version.
    pull = team.github.open_pull_request("train/alice", "Train with more iterations")
    merged = team.github.merge(pull)
    register = team.workflow(alice, "ci.yml", "team-ci").run_job("register", merged)
    assert register.ok, register.failure()
    assert "is registry version 1 in http://127.0.0.1" in register.output

    # Alice promotes it to staging; the gates run on pull_request_target; the merge deploys it.
    run(alice, team.env, "git", "switch", "--quiet", "main")
    run(alice, team.env, "git", "pull", "--quiet", "--ff-only", "origin", "main")
    proposed = run(alice, team.env, "make", "promote", "ENV=staging").stdout
    branch = re.search(r"promote/staging/[\w.-]+", proposed).group(0)  # type: ignore[union-attr]
    promotion = team.github.open_pull_request(branch, branch)
    ok(team.workflow(alice, "promote.yml", "team-gates").run_all(team.github.pull_request_event(promotion),
                                                                  only={"gates"}), "gates")  # fmt: skip
    deployed = team.workflow(alice, "deploy.yml", "team-deploy").run_all(team.github.merge(promotion))
    for name, job in deployed.items():
        state = job.workspace and job.workspace / ".deploy" / f"{name}.json"
        if state and state.exists():
            servers.stop(json.loads(state.read_text())["pid"])
    ok(deployed, "plan", "staging")
    alias = version_by_alias(stack, "staging")
    sha = json.loads((alice / "models/lineage.json").read_text())["artifact"]["sha256"]
    assert (str(alias.version), alias.tags["artifact_sha256"]) == ("1", sha)
    assert "alias 'staging' -> registry version 1" in deployed["staging"].output

    # A newcomer's clone, in another folder: data and models come from S3, nothing is retrained.
    carol = team.clone("carol")
    make(carol, "data", team.env)
    assert (carol / "models/model.joblib").exists()
    repro = make(carol, "repro", team.env)
    assert "Running stage" not in repro and "Data and pipelines are up to date." in repro
    assert not list(root.glob("*-dvc-storage"))  # no folder remote: S3 alone held the data


def test_make_github_setup_applies_the_settings_that_make_the_gates_binding(
    trained: tuple[Path, dict[str, str]],
) -> None:
    project, env = trained
    github = GitHub(project, project.parent / "setup-github")
    on_path = env | {"PATH": f"{github.bin}{os.pathsep}{env['PATH']}"}

    # Not logged in: the checklist, and no request at all.
    checklist = make(project, "github-setup", on_path)
    assert "`gh` is not logged in" in checklist and "  4. environment production" in checklist
    assert [c["args"][:2] for c in github.calls()] == [["auth", "status"]]

    # An approver GitHub does not know: refused before anything is changed.
    logged_in = on_path | {"GH_TOKEN": "a-token"}
    refused = run(project, logged_in, "make", "github-setup", check=False)
    assert refused.returncode != 0 and "orgs/your-org/teams/ml-approvers` failed: gh: Not Found" in refused.stderr
    assert github.state["settings"] == {}

    github.member("teams", "your-org/ml-approvers", 4242)
    make(project, "github-setup", logged_in)
    requests = [(c["args"][2], c["args"][3], json.loads(c["input"]) if c["input"] else None) for c in github.calls()
                if c["args"][0] == "api"][1:]  # fmt: skip
    repo = "repos/{owner}/{repo}"
    assert [(method, path) for method, path, _ in requests] == [
        ("GET", "orgs/your-org/teams/ml-approvers"),
        ("PUT", f"{repo}/branches/main/protection"),
        ("PATCH", repo),
        ("PUT", f"{repo}/environments/staging"),
        ("PUT", f"{repo}/environments/production"),
    ]
    protection = requests[1][2]
    assert [c["context"] for c in protection["required_status_checks"]["checks"]] == [
        "lint", "unit", "data", "performance", "build", "acceptance", "gates"
    ]  # fmt: skip
    assert protection["required_status_checks"]["strict"] and protection["enforce_admins"]
    assert protection["required_pull_request_reviews"]["require_code_owner_reviews"]
    merges = requests[2][2]
    assert merges["squash_merge_commit_title"] == "PR_TITLE" and merges["merge_commit_title"] == "MERGE_MESSAGE"
    assert "reviewers" not in requests[3][2]
    assert requests[4][2]["reviewers"] == [{"type": "Team", "id": 4242}]
    assert requests[4][2]["deployment_branch_policy"] == {"protected_branches": True, "custom_branch_policies": False}
