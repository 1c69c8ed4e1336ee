"""Deploy records: a git note per deployed change on `refs/notes/deployments`, and a GTO-format tag.

A note holds one JSON record per line, so two records of the same commit merge line by line
(`cat_sort_uniq`) and never conflict. A record is added locally; `push` fetches and merges the
remote's notes first and pushes without force, so a deploy never overwrites another's record, however
the runs interleave. Adding needs no access to origin (the deploy step of CI has no token).
"""

from __future__ import annotations

import json
from typing import Any

from ..adapters import gitrepo

NOTES_REF = "refs/notes/deployments"
FETCHED = "refs/notes/deployments-origin"


def fetch() -> None:
    """Merge the remote's deploy records into ours (there may be none yet, or no remote)."""
    if not gitrepo.has_remote() or not gitrepo.remote("ls-remote", "origin", NOTES_REF):
        return
    gitrepo.remote("fetch", "--quiet", "origin", f"+{NOTES_REF}:{FETCHED}")
    if gitrepo.exists(NOTES_REF):
        gitrepo.git("notes", f"--ref={NOTES_REF}", "merge", "--quiet", "--strategy=cat_sort_uniq", FETCHED)
    else:
        gitrepo.git("update-ref", NOTES_REF, FETCHED)


def all_records(commit: str, environment: str | None = None) -> list[dict[str, Any]]:
    """A commit's deploy records, oldest first; only the environment's when one is named."""
    text = gitrepo.git("notes", f"--ref={NOTES_REF}", "show", commit, check=False)
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    records = [r for r in records if environment is None or r.get("environment") == environment]
    return sorted(records, key=lambda r: str(r.get("deployed_at", "")))


def read(commit: str, environment: str | None = None) -> dict[str, Any] | None:
    """The latest deploy record of a commit (for the environment, when one is named)."""
    records = all_records(commit, environment)
    return records[-1] if records else None


def add(commit: str, record: dict[str, Any]) -> None:
    gitrepo.git("notes", f"--ref={NOTES_REF}", "append", "-m", json.dumps(record, sort_keys=True), commit)


def tags(model: str, environment: str) -> list[str]:
    """The environment's deploy tags, oldest first: `<model>#<env>#<n>`."""
    found = gitrepo.git("tag", "--list", f"{model}#{environment}#*").split()
    return sorted(found, key=lambda tag: int(tag.rsplit("#", 1)[1]))


def next_tag(model: str, environment: str) -> str:
    existing = tags(model, environment)
    return f"{model}#{environment}#{int(existing[-1].rsplit('#', 1)[1]) + 1 if existing else 1}"


def last_deploy(model: str, environment: str) -> dict[str, Any] | None:
    """The record of the environment's latest successful deploy, found by its latest tag."""
    for tag in reversed(tags(model, environment)):
        record = read(gitrepo.git("rev-list", "-n", "1", tag), environment)
        if record is not None:
            return record
    return None


def push(*tags: str) -> None:
    """Merge the remote's notes, then push the tags and the notes without force; when another deploy
    pushed notes meanwhile, merge again and retry."""
    fetch()
    for attempt in range(gitrepo.ATTEMPTS):
        try:
            gitrepo.push(*tags, NOTES_REF)
            return
        except gitrepo.GitError:
            if attempt == gitrepo.ATTEMPTS - 1:
                raise
            fetch()
