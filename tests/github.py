"""GitHub, as the baked repository's workflows meet it: pull requests and their merge refs, merges of
the three kinds, the events that start workflows, and a recording stand-in for GitHub's REST API.

GitHub itself cannot be reached from here, so its API is the one stand-in: `gh` on the jobs' PATH is a
small program (tests/standins/gh.py) that appends every call to `calls.jsonl` and answers the few endpoints the
workflows use from `state.json`. Everything else is real git: the origin is a repository on disk, a pull
request's `refs/pull/<n>/head` and `refs/pull/<n>/merge` are made as GitHub makes them (the merge is a
real merge of the head into the base, with GitHub's message), and a merge button produces the same
commits GitHub's does (a merge commit "Merge pull request #n from owner/branch", a squash commit
"<title> (#n)", or the head's commits rebased onto the base).

How this is kinder than GitHub, and what covers the gap:
- Only the endpoints tests/standins/gh.py lists answer; any other call fails the step loudly ("unsupported").
  A listing is one page (`--paginate --slurp` gets it wrapped as one page); GitHub pages at 100 items.
- Reviews, and which pull request a commit belongs to, are what the test puts in `state.json`: GitHub
  would derive them from real reviews and merges. The tests assert that the right PR's reviews are read.
- No branch protection, required checks, CODEOWNERS or Environment reviewers: the tests run the gates
  and decide to merge themselves; docs/promote-rollback-audit.md says how to make the gates binding.
- A pull request is mergeable whenever git can merge it; GitHub would also refuse on conflicts with the
  base updated meanwhile, which the tests never create.
- Repository settings (branch protection, merge methods, environments) are stored as sent, not
  validated against GitHub's schema or plan; the test checks the exact requests instead.
- Issues and pull requests opened through the API are records: labels need not exist first, a pull
  request's head branch is not checked against the origin (the test checks it), and their numbers
  start at 9001, apart from the pull requests `open_pull_request` makes; GitHub numbers both as one.
- Tokens are not checked for their permissions, only for being present where `gh` needs one (a call
  without GH_TOKEN fails, as `gh` does in Actions).
- A squash merge's message is GitHub's default for a one-commit pull request (the title with "(#n)",
  then that commit's body, trailers included); a repository set to use the PR's description instead
  would drop the trailers the audit reads.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import standins


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} (in {cwd}): {result.stderr.strip()}")
    return result.stdout.strip()


@dataclass
class Event:
    """What starts a workflow run, with what GitHub gives it: GITHUB_SHA, GITHUB_REF and the payload."""

    name: str  # pull_request, pull_request_target, push, workflow_dispatch
    sha: str
    ref: str  # refs/pull/<n>/merge, refs/heads/<branch>
    payload: dict[str, Any]
    changed: list[str] = field(default_factory=list)  # for `paths:` filters
    base_ref: str = ""
    head_ref: str = ""

    def as_target(self) -> Event:
        """The same pull request as a `pull_request_target` workflow sees it: GITHUB_SHA is the base
        branch's last commit and GITHUB_REF the base branch; the payload is the same."""
        base = self.payload["pull_request"]["base"]
        return Event("pull_request_target", base["sha"], f"refs/heads/{base['ref']}", self.payload, self.changed,
                     self.base_ref, self.head_ref)  # fmt: skip


@dataclass
class PullRequest:
    number: int
    head: str  # branch name
    base: str
    title: str
    fork: bool = False


class GitHub:
    """A repository on "GitHub": its origin on disk, its pull requests, and the `gh` stand-in's state."""

    def __init__(self, origin: Path, work: Path, repository: str = "team/model", default_branch: str = "main") -> None:
        self.origin, self.work, self.repository, self.default_branch = origin, work, repository, default_branch
        self.bin = work / "github-bin"
        self.state_path, self.calls_path = work / "github-state.json", work / "github-calls.jsonl"
        self.bin.mkdir(parents=True, exist_ok=True)
        state = {"repository": repository, "reviews": {}, "commit_pulls": {}, "comments": {}, "next_id": 1000,
                 "users": {}, "teams": {}, "settings": {}}  # fmt: skip
        self.state_path.write_text(json.dumps(state))
        self.calls_path.write_text("")
        standins.install(self.bin, "gh", {"GH_STANDIN_STATE": str(self.state_path),
                                          "GH_STANDIN_CALLS": str(self.calls_path)})  # fmt: skip
        self.pulls: dict[int, PullRequest] = {}  # the open ones
        self.opened = 0
        self._scratch = work / "github-scratch"

    # --- the API's state --------------------------------------------------------------------------------

    @property
    def state(self) -> dict[str, Any]:
        return dict(json.loads(self.state_path.read_text()))

    def _update(self, key: str, name: str, value: Any) -> None:
        state = self.state
        state[key][name] = value
        self.state_path.write_text(json.dumps(state))

    def member(self, kind: str, name: str, number: int) -> None:
        """A user ("users", login) or team ("teams", org/slug) that GitHub knows, with its numeric id."""
        self._update(kind, name, number)

    def review(self, pull: PullRequest, reviews: list[dict[str, Any]]) -> None:
        self._update("reviews", str(pull.number), reviews)

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.calls_path.read_text().splitlines() if line]

    def issues(self) -> list[dict[str, Any]]:
        """Issues and pull requests opened through the API (`pull_request` set on the latter)."""
        return list(self.state.get("issues", {}).values())

    def comments(self, pull: PullRequest) -> list[str]:
        return [c["body"] for c in self.state["comments"].get(str(pull.number), [])]

    # --- git as GitHub does it ------------------------------------------------------------------------

    def scratch(self) -> Path:
        """A clone of the origin to make GitHub's commits in (GitHub makes them server-side)."""
        if not (self._scratch / ".git").exists():
            git(self.work, "clone", "--quiet", str(self.origin), str(self._scratch))
        git(self._scratch, "fetch", "--quiet", "--prune", "origin", "+refs/heads/*:refs/remotes/origin/*")
        return self._scratch

    def sha(self, ref: str) -> str:
        return git(self.origin, "rev-parse", ref)

    def changed(self, before: str, after: str) -> list[str]:
        return git(self.origin, "diff", "--name-only", f"{before}...{after}").split()

    def open_pull_request(self, head: str, title: str = "", *, fork: bool = False) -> PullRequest:
        """A pull request from `head` (a branch on the origin) into the default branch, with its merge ref."""
        self.opened += 1
        pull = PullRequest(self.opened, head, self.default_branch, title or head, fork)
        self.pulls[pull.number] = pull
        self.refresh(pull)
        return pull

    def refresh(self, pull: PullRequest) -> str:
        """(Re)make refs/pull/<n>/merge: the head merged into the base as it is now. Its sha."""
        scratch = self.scratch()
        head, base = self.sha(f"refs/heads/{pull.head}"), self.sha(f"refs/heads/{pull.base}")
        git(scratch, "checkout", "--quiet", "--detach", base)
        git(scratch, "merge", "--quiet", "--no-ff", "-m", f"Merge {head} into {base}", head, env=_identity())
        merge = git(scratch, "rev-parse", "HEAD")
        git(scratch, "push", "--quiet", "--force", "origin", f"{head}:refs/pull/{pull.number}/head",
            f"{merge}:refs/pull/{pull.number}/merge")  # fmt: skip
        return merge

    def pull_request_event(self, pull: PullRequest) -> Event:
        merge = self.refresh(pull)
        head_repo = f"someone/{self.repository.split('/')[1]}" if pull.fork else self.repository
        payload = {
            "action": "synchronize",
            "number": pull.number,
            "pull_request": {
                "number": pull.number,
                "title": pull.title,
                "head": {
                    "ref": pull.head,
                    "sha": self.sha(f"refs/heads/{pull.head}"),
                    "repo": {"full_name": head_repo},
                },
                "base": {
                    "ref": pull.base,
                    "sha": self.sha(f"refs/heads/{pull.base}"),
                    "repo": {"full_name": self.repository},
                },
            },
            "repository": {"full_name": self.repository, "default_branch": self.default_branch},
        }
        changed = self.changed(f"refs/heads/{pull.base}", f"refs/heads/{pull.head}")
        return Event("pull_request", merge, f"refs/pull/{pull.number}/merge", payload, changed, pull.base, pull.head)

    def merge(self, pull: PullRequest, how: str = "merge", when: str | None = None) -> Event:
        """Press the merge button (merge, squash or rebase); the push event it causes on the default branch."""
        scratch = self.scratch()
        before = self.sha(f"refs/heads/{pull.base}")
        head = self.sha(f"refs/heads/{pull.head}")
        env = _identity(when)
        git(scratch, "checkout", "--quiet", "-B", pull.base, f"origin/{pull.base}")
        if how == "merge":
            message = (
                f"Merge pull request #{pull.number} from {self.repository.split('/')[0]}/{pull.head}\n\n{pull.title}"
            )
            git(scratch, "merge", "--quiet", "--no-ff", "-m", message, head, env=env)
        elif how == "squash":
            git(scratch, "merge", "--quiet", "--squash", head, env=env)
            body = git(scratch, "log", "-1", "--format=%b", head)  # a one-commit PR: its message, as GitHub proposes
            git(scratch, "commit", "--quiet", "-m", f"{pull.title} (#{pull.number})\n\n{body}", env=env)
        elif how == "rebase":
            git(scratch, "cherry-pick", "--quiet", f"{before}..{head}", env=env)
        else:
            raise ValueError(how)
        after = git(scratch, "rev-parse", "HEAD")
        git(scratch, "push", "--quiet", "origin", f"HEAD:refs/heads/{pull.base}")
        merged = [{"number": pull.number, "merged_at": when or "2026-01-01T00:00:00Z"}]
        for commit in git(scratch, "rev-list", f"{before}..{after}").split():
            self._update("commit_pulls", commit, merged)
        del self.pulls[pull.number]
        return self.push_event(before, after)

    def push_event(self, before: str, after: str) -> Event:
        payload = {"ref": f"refs/heads/{self.default_branch}", "before": before, "after": after,
                   "repository": {"full_name": self.repository, "default_branch": self.default_branch}}  # fmt: skip
        return Event("push", after, f"refs/heads/{self.default_branch}", payload, self.changed(before, after))

    def dispatch_event(self) -> Event:
        sha = self.sha(f"refs/heads/{self.default_branch}")
        payload = {"ref": f"refs/heads/{self.default_branch}", "inputs": {},
                   "repository": {"full_name": self.repository, "default_branch": self.default_branch}}  # fmt: skip
        return Event("workflow_dispatch", sha, f"refs/heads/{self.default_branch}", payload)


def _identity(when: str | None = None) -> dict[str, str]:
    """GitHub's committer for what it makes on the server; dated when the test says."""
    env = dict(os.environ, GIT_AUTHOR_NAME="GitHub", GIT_AUTHOR_EMAIL="noreply@github.com",
               GIT_COMMITTER_NAME="GitHub", GIT_COMMITTER_EMAIL="noreply@github.com")  # fmt: skip
    if when:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
    return env
