"""What the release path asks of GitHub, through the `gh` command line: a merged pull request's number
and reviews, and opening a pull request.

Only where GitHub is reachable: in GitHub Actions (GITHUB_REPOSITORY set) or with `gh` logged in.
Anywhere else each question has an offline answer (the commit message, a reviews file, a printed command).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ...contract.names import DEFAULT_BRANCH
from ..errors import ReleaseError
from . import gitrepo


def reachable() -> bool:
    return bool(os.environ.get("GITHUB_REPOSITORY")) and shutil.which("gh") is not None


def api(path: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any | None:
    """Call `repos/<this repository>/<path>` in GitHub's REST API, or None where GitHub is not reachable."""
    repository = os.environ.get("GITHUB_REPOSITORY")
    if not repository or not reachable():
        return None
    command = ["gh", "api", "--method", method, f"repos/{repository}/{path}"]
    if method != "GET":
        command += ["--input", "-"]
    result = subprocess.run(command, input=json.dumps(body or {}), capture_output=True, text=True)
    if result.returncode != 0:
        raise ReleaseError(f"`{' '.join(command)}` failed: {result.stderr.strip()}")
    return json.loads(result.stdout) if result.stdout.strip() else None


def listing(path: str) -> list[dict[str, Any]]:
    """Every item of a listed resource, all pages (`--paginate --slurp` gives a list of pages)."""
    repository = os.environ.get("GITHUB_REPOSITORY")
    if not repository or not reachable():
        return []
    query = "&" if "?" in path else "?"  # a path may carry its own filters (issues?labels=…)
    command = ["gh", "api", "--paginate", "--slurp", f"repos/{repository}/{path}{query}per_page=100"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ReleaseError(f"`{' '.join(command)}` failed: {result.stderr.strip()}")
    return [item for page in json.loads(result.stdout or "[]") for item in page]


def event_pull_request() -> int | None:
    """The pull request this workflow run is for, from the event GitHub describes in GITHUB_EVENT_PATH."""
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path or not Path(path).exists():
        return None
    number = json.loads(Path(path).read_text()).get("pull_request", {}).get("number")
    return int(number) if number else None


def comment(*, marker: str, body: Path) -> int:
    """`comment`: one comment per pull request and marker, edited in place on every run."""
    number = event_pull_request()
    if number is None:
        print("comment: this run is not for a pull request: nothing to comment on", file=sys.stderr)
        return 1
    tag = f"<!-- {marker} -->"
    text = f"{tag}\n{body.read_text()}"
    listed = listing(f"issues/{number}/comments")
    found = [c for c in listed if str(c.get("body", "")).startswith(tag)]
    if found:
        api(f"issues/comments/{found[0]['id']}", "PATCH", {"body": text})
    else:
        api(f"issues/{number}/comments", "POST", {"body": text})
    print(f"comment: {'updated' if found else 'posted'} {marker} on pull request #{number}")
    return 0


def merged_pull_request(commit: gitrepo.Commit) -> int | None:
    """The pull request that put this commit on the default branch. Where GitHub can be asked, its list of
    the commit's merged pull requests answers (any message can claim "(#12)"; a rebase names none);
    elsewhere the message of a merge or squash commit does."""
    if not reachable():
        return commit.pull_request
    merged = [p["number"] for p in listing(f"commits/{commit.sha}/pulls") if p.get("merged_at")]
    return int(merged[0]) if merged else None


def reviews(pull_request: int) -> list[dict[str, Any]]:
    return listing(f"pulls/{pull_request}/reviews")


def approvals(reviews: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Approvers (latest review APPROVED) and every reviewer, from GitHub's list of a PR's reviews."""
    latest: dict[str, str] = {}
    for review in reviews:
        latest[review["user"]["login"]] = review["state"]
    return sorted(u for u, s in latest.items() if s == "APPROVED"), sorted(latest)


def open_pull_request(branch: str, title: str, body: str, push: bool) -> str:
    """Push the branch and open its pull request with `gh` when it is logged in; else say how to open it."""
    if push:
        gitrepo.git("push", "--quiet", "--set-upstream", "origin", branch)
    command = ["gh", "pr", "create", "--base", DEFAULT_BRANCH, "--head", branch, "--title", title, "--body-file", "-"]
    authenticated = shutil.which("gh") and subprocess.run(["gh", "auth", "status"], capture_output=True).returncode == 0
    if push and authenticated:
        subprocess.run(command, input=body, text=True, check=True)
        return f"opened a pull request from {branch}"
    return f"pushed {branch}; open the pull request with:\n  {' '.join(command[:-2])} --body-file build/promotion.md"
