"""The git operations promotion, deployment and audit are made of. Git is the source of truth."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ReleaseError

NOTES_REF = "refs/notes/deployments"
# The subject GitHub gives the merge commit of a pull request: the one place it is recognised.
MERGE_MESSAGE = re.compile(r"^Merge pull request #(\d+) from (\S+)")


class GitError(ReleaseError):
    pass


def pull_request(subject: str) -> int | None:
    """The number of the pull request a commit subject says it merged, or None for any other commit."""
    found = MERGE_MESSAGE.match(subject)
    return int(found.group(1)) if found else None


def git(*args: str, cwd: Path = Path(), check: bool = True) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise GitError(f"`git {' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout.strip()


def show(rev: str, path: str, cwd: Path = Path()) -> str | None:
    """The file at a revision, or None where it did not exist."""
    result = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=cwd, capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


def head() -> str:
    return git("rev-parse", "HEAD")


def is_clean(*paths: str) -> bool:
    return git("status", "--porcelain", "--", *paths) == ""


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


def note(commit: str) -> dict[str, Any] | None:
    text = git("notes", f"--ref={NOTES_REF}", "show", commit, check=False)
    return json.loads(text) if text else None


def add_note(commit: str, record: dict[str, Any]) -> None:
    git("notes", f"--ref={NOTES_REF}", "add", "--force", "-m", json.dumps(record, sort_keys=True), commit)


def print_pull_request() -> None:
    """`merged-pr`: the pull request HEAD merged, for the deploy workflow to fetch its reviews (empty if none)."""
    print(pull_request(git("log", "-1", "--format=%s")) or "")
