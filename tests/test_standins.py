"""The `gh` and `kubectl` stand-ins as the jobs call them: through the wrapper on PATH, as programs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from .github import GitHub
from .runtimes import install


def run(program: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(program), *args], input=stdin, capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], **env})  # fmt: skip


def test_gh_records_each_call_and_answers_from_the_state(tmp_path: Path) -> None:
    github = GitHub(tmp_path / "origin.git", tmp_path)
    gh = github.bin / "gh"
    github.member("users", "alice", 7)

    assert run(gh, "api", "users/alice", GH_TOKEN="t").stdout.strip() == '{"login": "alice", "id": 7, "type": "User"}'
    posted = run(gh, "api", "--method", "POST", "repos/{owner}/{repo}/issues/3/comments", "--input", "-",
                 stdin='{"body": "report"}', GH_TOKEN="t")  # fmt: skip
    comment = json.loads(posted.stdout)
    edited = run(gh, "api", "-X", "PATCH", f"repos/team/model/issues/comments/{comment['id']}", "--input", "-",
                 stdin='{"body": "report, again"}', GH_TOKEN="t")  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    listed = run(gh, "api", "--paginate", "--slurp", "repos/{owner}/{repo}/issues/3/comments", GH_TOKEN="t")
    assert [[c["body"] for c in page] for page in json.loads(listed.stdout)] == [["report, again"]]
    assert [call["input"] for call in github.calls()] == ["", '{"body": "report"}', '{"body": "report, again"}', ""]
    assert all(call["token"] for call in github.calls())


def test_gh_refuses_what_github_would(tmp_path: Path) -> None:
    github = GitHub(tmp_path / "origin.git", tmp_path)
    gh = github.bin / "gh"
    before = github.state

    no_token = run(gh, "api", "repos/team/model/pulls/1/reviews")
    assert no_token.returncode == 1 and "set the GH_TOKEN environment variable" in no_token.stderr
    unknown = run(gh, "api", "users/mallory", GH_TOKEN="t")
    assert unknown.returncode == 1 and unknown.stderr.strip() == "gh: Not Found (HTTP 404)"
    other_repo = run(gh, "api", "--method", "DELETE", "repos/other/repo", GH_TOKEN="t")
    assert other_repo.returncode == 1 and "unsupported call: DELETE repos/other/repo" in other_repo.stderr
    assert run(gh, "pr", "merge", "1", GH_TOKEN="t").returncode == 1
    assert run(gh, "auth", "status").returncode == 1
    assert github.state == before, "a refused call changed GitHub's state"
    assert len(github.calls()) == 5, "every call is recorded, refused or not"


def test_kubectl_needs_the_configured_credential_and_knows_only_its_calls(tmp_path: Path) -> None:
    cluster = install(tmp_path / "cluster", "the-credential", 1)
    kubectl = tmp_path / "cluster/bin/kubectl"
    config = tmp_path / "kubeconfig"

    assert "Unauthorized" in run(kubectl, "get", "pods").stderr
    config.write_text("another credential\n")
    assert "Unauthorized" in run(kubectl, "get", "pods", KUBECONFIG=str(config)).stderr
    config.write_text("the-credential\n")
    unsupported = run(kubectl, "delete", "pods", KUBECONFIG=str(config))
    assert unsupported.returncode == 1 and "unsupported call: kubectl delete pods" in unsupported.stderr
    missing = run(kubectl, "rollout", "status", "deployment/model", KUBECONFIG=str(config))
    assert missing.returncode == 1 and 'deployments.apps "deployment/model" not found' in missing.stderr
    assert [call["kubeconfig"] for call in cluster.calls()] == [False, True, True, True]
    assert "applied" not in cluster.state
