"""What the release path asks of GitHub: who approved a pull request, and opening one with `gh`."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from ..contract.names import DEFAULT_BRANCH
from . import gitops


def approvals(reviews: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Approvers (latest review APPROVED) and every reviewer, from GitHub's list of a PR's reviews."""
    latest: dict[str, str] = {}
    for review in reviews:
        latest[review["user"]["login"]] = review["state"]
    return sorted(u for u, s in latest.items() if s == "APPROVED"), sorted(latest)


def open_pull_request(branch: str, title: str, body: str, push: bool) -> str:
    """Push the branch and open its pull request with `gh` when it is logged in; else say how to open it."""
    if push:
        gitops.git("push", "--quiet", "--set-upstream", "origin", branch)
    command = ["gh", "pr", "create", "--base", DEFAULT_BRANCH, "--head", branch, "--title", title, "--body-file", "-"]
    authenticated = shutil.which("gh") and subprocess.run(["gh", "auth", "status"], capture_output=True).returncode == 0
    if push and authenticated:
        subprocess.run(command, input=body, text=True, check=True)
        return f"opened a pull request from {branch}"
    return f"pushed {branch}; open the pull request with:\n  {' '.join(command[:-2])} --body-file build/promotion.md"
