"""The git operations promotion, deployment and audit are made of. Git is the source of truth."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...contract.names import DEFAULT_BRANCH
from ..errors import ReleaseError

# How GitHub names what a pull request left on the default branch: the one place it is recognised.
# A merge commit says "Merge pull request #N from owner/branch"; a squash merge ends its subject with
# "(#N)". A rebase merge leaves the PR's own commits, which say nothing: its number comes from GitHub's
# API at deploy time (github.py) and lives in the deploy record.
MERGE_MESSAGE = re.compile(r"^Merge pull request #(\d+) from (\S+)")
SQUASH_MESSAGE = re.compile(r" \(#(\d+)\)$")


class GitError(ReleaseError):
    pass


def pull_request(subject: str) -> int | None:
    """The number of the pull request a commit subject says it merged (merge or squash), else None."""
    found = MERGE_MESSAGE.match(subject) or SQUASH_MESSAGE.search(subject)
    return int(found.group(1)) if found else None


ATTEMPTS = 3  # pushes retried on top of what landed meanwhile


def git(*args: str, cwd: Path = Path(), check: bool = True, **run: Any) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, **run)
    if check and result.returncode != 0:
        raise GitError(f"`git {' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout.strip()


def show(rev: str, path: str, cwd: Path = Path()) -> str | None:
    """The file at a revision, or None where it did not exist."""
    result = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=cwd, capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


def head() -> str:
    return git("rev-parse", "HEAD")


def exists(rev: str) -> bool:
    return git("rev-parse", "--verify", "--quiet", rev + "^{commit}", check=False) != ""


def pull_request_base() -> str | None:
    """The branch a pull request's CI run merges into (GitHub sets GITHUB_BASE_REF only there)."""
    return os.environ.get("GITHUB_BASE_REF") or None


def base() -> str:
    """The revision that stands for the default branch in this checkout.

    In a pull request's CI run, actions/checkout leaves a detached merge commit and only `origin/*`
    refs: the base is `origin/$GITHUB_BASE_REF`. Elsewhere it is the local default branch, or the
    remote's where there is no local one (a clone made by a push event's checkout, an auditor's).
    """
    pr_base = pull_request_base()
    candidates = [f"origin/{pr_base}"] if pr_base else [DEFAULT_BRANCH, f"origin/{DEFAULT_BRANCH}"]
    for ref in candidates:
        if exists(ref):
            return ref
    wanted = pr_base or DEFAULT_BRANCH
    raise GitError(
        f"neither {' nor '.join(candidates)} is here: `git fetch origin {wanted}` (checkout: fetch-depth: 0)"
    )


def is_ancestor(commit: str, of: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", commit, of], capture_output=True).returncode == 0


def is_clean(*paths: str) -> bool:
    return git("status", "--porcelain", "--", *paths) == ""


def has_remote() -> bool:
    return "origin" in git("remote", check=False).split()


def trailers(message: str) -> dict[str, str]:
    out = subprocess.run(
        ["git", "interpret-trailers", "--parse"], input=message, capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


@dataclass
class Commit:
    sha: str
    parents: list[str]
    time: int  # committer time, seconds since the epoch
    subject: str
    body: str

    @property
    def pull_request(self) -> int | None:
        return pull_request(self.subject)

    def proposal(self) -> str:
        """The message of the commit that proposed this change: a merge's second parent, else this one."""
        tip = self.parents[1] if len(self.parents) > 1 else self.sha
        return git("log", "-1", "--format=%B", tip)


def first_parent_changes(branch: str, path: str) -> list[Commit]:
    """Commits on the branch's first-parent line (what was merged into it) that changed `path`, oldest first."""
    # Separators that are neither whitespace (which strip() would eat) nor likely in a message.
    fmt = "%H%x01%P%x01%ct%x01%s%x01%b%x02"
    out = git("log", "--first-parent", "--reverse", f"--format={fmt}", branch, "--", path)
    commits = []
    for record in filter(None, (r.strip("\n") for r in out.split("\x02"))):
        sha, parents, time, subject, body = record.split("\x01")
        commits.append(Commit(sha, parents.split(), int(time), subject, body))
    return commits


def remote(*args: str) -> str:
    """A git command that talks to origin (fetch, ls-remote, push). In GitHub Actions the checkout keeps no
    credentials (persist-credentials: false), so a step that must reach origin is given a token (GITHUB_TOKEN
    or GH_TOKEN) and this command alone authenticates with it, as actions/checkout does."""
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    auth = ["-c", f"http.extraheader=AUTHORIZATION: basic {basic}"] if token else []
    return git(*auth, *args)


def push(*refs: str) -> None:
    """Push refs to origin, never with force."""
    remote("push", "--quiet", "origin", *refs)


def commit_onto(branch: str, folder: str, files: dict[Path, str], message: str, guard: Callable[[str], None]) -> str:
    """Replace the folder with the files on origin's branch and push it without force, leaving this checkout
    as it is; when the branch moved meanwhile, commit again on its new tip. `guard` sees each tip first and
    raises to refuse it. Returns the commit (the tip, if nothing changed)."""
    attempt = 1
    while True:
        remote("fetch", "--quiet", "--no-tags", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}")
        parent = git("rev-parse", f"origin/{branch}")
        guard(parent)
        with tempfile.TemporaryDirectory() as scratch:  # an index of its own: the checkout's stays untouched
            index = os.environ | {"GIT_INDEX_FILE": f"{scratch}/index"}
            git("read-tree", parent, env=index)
            git("rm", "-r", "--cached", "--quiet", "--ignore-unmatch", "--", folder, env=index)
            for path, text in files.items():
                blob = git("hash-object", "-w", "--stdin", input=text)
                git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
            tree = git("write-tree", env=index)
        if tree == git("rev-parse", parent + "^{tree}"):
            return parent
        sha = git("commit-tree", tree, "-p", parent, "-m", message)
        try:
            remote("push", "--quiet", "origin", f"{sha}:refs/heads/{branch}")
            return sha
        except GitError:
            if attempt == ATTEMPTS:
                raise
            attempt += 1
