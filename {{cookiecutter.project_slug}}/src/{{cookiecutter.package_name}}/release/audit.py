"""Answer an auditor from git alone: what served where and when, from what, approved by whom.

Reads the first-parent history of the pin files on the default branch, the promotion commits' trailers,
the deploy records (`refs/notes/deployments`, fetched and merged from origin first) and, to verify
artifacts, the DVC remote. No server is needed. A pull request is recognised however it was merged:
a merge commit or a squash by its message, a rebase by the number its deploy record took from GitHub.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from ..pipeline import dvclock
from .adapters import gitrepo
from .adapters.dvc_fetch import fetch_verified
from .deploy import records
from .environments import ENVIRONMENTS, NEEDS_APPROVAL
from .errors import ReleaseError
from .promotion import pins


@dataclass
class Entry:
    time: str
    environment: str
    kind: str
    model: str
    version: str
    artifact_sha256: str
    data_version: str
    pull_request: int | None
    approvers: list[str]
    commit: str
    deployed: str  # the deploy record's result ("deployed; …", "image pushed, not deployed: …"), or "" without one
    image: str  # the image the deploy ran or pushed: by digest once pushed


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def changes(environment: str) -> list[tuple[gitrepo.Commit, pins.Pin | None]]:
    """Each change of the environment's pin on the default branch, oldest first, with the pin it left."""
    file = str(pins.path(environment))
    out = []
    for commit in gitrepo.first_parent_changes(gitrepo.base(), file):
        text = gitrepo.show(commit.sha, file)
        out.append((commit, pins.parse(text, f"{file}@{commit.sha[:12]}") if text else None))
    return out


def pull_request(commit: gitrepo.Commit, note: dict[str, Any] | None) -> int | None:
    """The PR that merged the change: as its deploy record says (GitHub's answer when it was deployed),
    else as a merge or squash commit's message says."""
    return note.get("pull_request") if note is not None and "pull_request" in note else commit.pull_request


def _entry(environment: str, commit: gitrepo.Commit, pin: pins.Pin) -> Entry:
    note = records.read(commit.sha, environment)
    kind = "rollback" if pin.promoted_from == "rollback" else "promotion"
    m = pin.model
    return Entry(_when(commit.time), environment, kind, m.model_name, m.version, m.artifact.sha256,
                 m.data_version, pull_request(commit, note), list((note or {}).get("approvers", [])), commit.sha,
                 str((note or {}).get("result", "")), str((note or {}).get("image", "")))  # fmt: skip


def history(environment: str | None = None) -> list[Entry]:
    records.fetch()
    entries = [
        _entry(env, commit, pin)
        for env in ([environment] if environment else ENVIRONMENTS)
        for commit, pin in changes(env)
        if pin is not None
    ]
    return sorted(entries, key=lambda e: e.time)


def at(instant: datetime, environment: str) -> tuple[Entry, pins.Pin] | None:
    """The record in force at an instant: the last change merged at or before it."""
    records.fetch()
    found = None
    for commit, pin in changes(environment):
        if commit.time <= instant.timestamp() and pin is not None:
            found = (commit, pin)
    return None if found is None else (_entry(environment, *found), found[1])


def verify() -> list[str]:
    """Every violation of the promotion rules in the history; empty when the history is sound."""
    records.fetch()
    violations = []
    checked: set[str] = set()
    for env in ENVIRONMENTS:
        history = changes(env)
        for index, (commit, pin) in enumerate(history):
            superseded = index < len(history) - 1  # a later change was merged; deploys reconcile to the latest
            where = f"{env} at {commit.sha[:12]} ({_when(commit.time)})"
            note = records.read(commit.sha, env)
            number = pull_request(commit, note)
            if number is None:
                violations.append(f"{where}: the pin changed without a merged pull request (a direct push)")
                continue
            if gitrepo.trailers(commit.proposal()).get("Environment") != env:
                violations.append(
                    f"{where}: PR #{number} was not made by `promote`/`rollback` (no Environment trailer)"
                )
            if note is None and not superseded:
                violations.append(f"{where}: PR #{number} has no deployment record (git note)")
            elif note is not None and env in NEEDS_APPROVAL and not note.get("approvers"):
                violations.append(f"{where}: PR #{number} has no recorded approver")
            if pin is None:
                continue
            key = f"{pin.source_commit}:{pin.model.artifact.sha256}"
            if key not in checked:
                checked.add(key)
                violations += _check_artifact(where, pin)
    return violations


def _check_artifact(where: str, pin: pins.Pin) -> list[str]:
    """The pinned artifact still exists with its digest, and its lineage agrees with dvc.lock."""
    problems = []
    try:
        fetch_verified(pin.source_commit, pin.model.artifact.sha256)
    except ReleaseError as error:
        problems.append(f"{where}: version {pin.model.version}: {error}")
    if dvclock.data_hashes(gitrepo.show(pin.source_commit, "dvc.lock") or "") != pin.model.data:
        problems.append(
            f"{where}: version {pin.model.version}: lineage data hashes disagree with dvc.lock at {pin.source_commit[:12]}"
        )
    return problems


def markdown(entries: list[Entry]) -> str:
    lines = [
        "| time (UTC) | environment | kind | version | artifact sha256 | data md5 | PR | approvers | deploy | image |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        pr = f"#{e.pull_request}" if e.pull_request else "direct push"
        lines.append(
            f"| {e.time} | {e.environment} | {e.kind} | {e.model} {e.version} | `{e.artifact_sha256[:12]}` | `{e.data_version[:12]}` | {pr} | {', '.join(e.approvers) or '-'} | {e.deployed.split(';')[0].split(':')[0] or '-'} | {e.image or '-'} |"
        )
    return "\n".join(lines)


def to_json(value: Any) -> str:
    if isinstance(value, list):
        return json.dumps([asdict(v) if isinstance(v, Entry) else v for v in value], indent=2)
    return json.dumps(
        value, indent=2, default=lambda o: asdict(o) if isinstance(o, Entry) else o.model_dump(mode="json")
    )


def history_command(*, env: str | None, as_json: bool) -> None:
    entries = history(env)
    print(to_json(entries) if as_json else markdown(entries))


def at_command(*, time: str, env: str, as_json: bool) -> int:
    instant = datetime.fromisoformat(time)
    if instant.tzinfo is None:
        raise SystemExit("error: give the time with its zone, e.g. 2026-11-22T10:00:00+00:00")
    found = at(instant, env)
    if found is None:
        print(f"audit: nothing was pinned in {env} at {time}")
        return 1
    entry, pin = found
    print(to_json({"entry": entry, "pin": pin}) if as_json else markdown([entry]))
    return 0


def verify_command(*, as_json: bool) -> int:
    violations = verify()
    if as_json:
        print(json.dumps({"passed": not violations, "violations": violations}, indent=2))
    else:
        print("audit verify: passed" if not violations else "\n".join(f"violation: {v}" for v in violations))
    return 1 if violations else 0
