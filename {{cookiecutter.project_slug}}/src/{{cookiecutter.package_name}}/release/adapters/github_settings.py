"""`github-setup`: the repository settings that make the gates binding on GitHub, applied with `gh api`.

The workflows report; only GitHub's settings enforce: the default branch protected with the CI checks
and the promotion gates required and code-owner review; the merge methods whose commits the audit
recognises; `staging` and `production` environments, production's deploys waiting for the approvers
named in .github/CODEOWNERS. Without a logged-in `gh`, the same settings are printed as a checklist.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ...contract.names import DEFAULT_BRANCH
from ..environments import ENVIRONMENTS, NEEDS_APPROVAL
from ..errors import ReleaseError

CODEOWNERS = Path(".github/CODEOWNERS")
# The job names GitHub reports as checks: ci.yml's stages and promote.yml's gates (which pass at once
# on a pull request that changes no pin).
REQUIRED_CHECKS = ["lint", "unit", "data", "performance", "build", "acceptance", "gates"]


def approvers() -> list[str]:
    """The owners CODEOWNERS names for the pins that need approval (@user or @org/team)."""
    owners: list[str] = []
    for line in CODEOWNERS.read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if fields and any(fields[0].endswith(f"/{environment}.yaml") for environment in NEEDS_APPROVAL):
            owners += [owner for owner in fields[1:] if owner not in owners]
    if not owners:
        raise ReleaseError(f"{CODEOWNERS} names no approvers for {', '.join(NEEDS_APPROVAL)}")
    return owners


def settings() -> list[tuple[str, str, dict[str, Any] | None, str]]:
    """(method, path, body, what it does) for each request; paths relative to repos/<owner>/<repo>."""
    protection = {
        "required_status_checks": {"strict": True, "checks": [{"context": name} for name in REQUIRED_CHECKS]},
        "enforce_admins": True,
        "required_pull_request_reviews": {
            "require_code_owner_reviews": True,
            "required_approving_review_count": 1,
            "dismiss_stale_reviews": True,
        },
        "restrictions": None,
        "allow_force_pushes": False,
        "allow_deletions": False,
    }
    merges = {
        "allow_merge_commit": True,
        "merge_commit_title": "MERGE_MESSAGE",  # "Merge pull request #n from …"
        "allow_squash_merge": True,
        "squash_merge_commit_title": "PR_TITLE",  # "<title> (#n)"
        "squash_merge_commit_message": "COMMIT_MESSAGES",  # keeps the promotion's trailers
        "allow_rebase_merge": True,  # recognised through the API (commits/<sha>/pulls)
        "delete_branch_on_merge": True,
    }
    out: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("PUT", f"branches/{DEFAULT_BRANCH}/protection", protection,
         f"protect {DEFAULT_BRANCH}: pull requests only, checks {', '.join(REQUIRED_CHECKS)} required and up to "
         "date, code-owner review, no force pushes, admins included"),
        ("PATCH", "", merges, "merge commits, squash (PR title, commit messages) and rebase merges"),
    ]  # fmt: skip
    for environment in ENVIRONMENTS:
        body: dict[str, Any] = {
            "deployment_branch_policy": {"protected_branches": True, "custom_branch_policies": False}
        }
        what = f"environment {environment}: deploys from {DEFAULT_BRANCH} only"
        if environment in NEEDS_APPROVAL:
            body["reviewers"] = None  # filled with the approvers' ids when applied
            what += f", approved by {', '.join(approvers())}"
        out.append(("PUT", f"environments/{environment}", body, what))
    return out


def gh(path: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any:
    command = ["gh", "api", "--method", method, path]
    if body is not None:
        command += ["--input", "-"]
    result = subprocess.run(
        command, input=json.dumps(body) if body is not None else None, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise ReleaseError(f"`gh api --method {method} {path}` failed: {result.stderr.strip()}")
    return json.loads(result.stdout) if result.stdout.strip() else None


def reviewer(owner: str) -> dict[str, Any]:
    """GitHub's reviewer entry for @user or @org/team (environments take ids, not names)."""
    name = owner.removeprefix("@")
    if "/" in name:
        org, team = name.split("/", 1)
        return {"type": "Team", "id": gh(f"orgs/{org}/teams/{team}")["id"]}
    return {"type": "User", "id": gh(f"users/{name}")["id"]}


def logged_in() -> bool:
    return (
        shutil.which("gh") is not None and subprocess.run(["gh", "auth", "status"], capture_output=True).returncode == 0
    )


def main() -> None:
    """`github-setup`: apply the settings with `gh api`, or print them as a checklist."""
    planned = settings()
    if not logged_in():
        print("github-setup: `gh` is not logged in (`gh auth login`); set these by hand, in the repository's Settings:")
        for number, (_, _, _, what) in enumerate(planned, 1):
            print(f"  {number}. {what}")
        return
    repository = os.environ.get("GITHUB_REPOSITORY") or "{owner}/{repo}"  # gh fills these from the git remote
    reviewers = [reviewer(owner) for owner in approvers()]  # first: an unknown approver changes nothing
    for method, path, body, what in planned:
        if body is not None and "reviewers" in body:
            body = body | {"reviewers": reviewers}
        gh(f"repos/{repository}/{path}".rstrip("/"), method, body)
        print(f"github-setup: {what}")
