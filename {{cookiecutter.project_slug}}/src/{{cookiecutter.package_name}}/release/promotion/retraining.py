"""`propose-retraining`: after `make monitor` found drift or decay, one retraining pull request, or one issue.

It reads the monitor's verdict (build/monitor/result.json) and report. An open pull request or issue
labelled `retraining` gets the new report as a comment: never a second one while one is open. Otherwise,
when the labelled table at DATA (any URL `dvc get-url` reads: a folder, s3://, gs://, azure://) is a new
version of the raw data (its md5 differs from the one the raw data's .dvc file records), it becomes the
raw data on a new branch (`dvc add`), `dvc repro` retrains, `dvc push` stores data and model, and the
pull request carries the report. With no new labelled data there is nothing to retrain on: an issue
carries the report instead, for a person to label more traffic.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ...contract.dataset import DATASET
from ...contract.names import DEFAULT_BRANCH, MODEL_NAME
from ..adapters import github, gitrepo
from ..errors import ReleaseError

LABEL = "retraining"
RAW = Path(DATASET.raw_data)
# What `dvc repro` and `dvc add` change that git tracks (the cache: false outputs hold the new metrics).
COMMITTED = [f"{RAW}.dvc", str(RAW.parent / ".gitignore"), "dvc.lock", "models", "reports"]


def dvc(*args: str) -> None:
    """DVC in this environment, its output in the job's log; a failure is one line naming the command."""
    if subprocess.run([sys.executable, "-m", "dvc", *args]).returncode != 0:
        raise ReleaseError(f"`dvc {' '.join(args)}` failed (its output is above)")


def md5(path: Path) -> str:
    """DVC 3's hash of a file: the md5 of its bytes."""
    digest = hashlib.md5()  # DVC's content address, not a security measure
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded_md5() -> str:
    """The md5 of the raw data this commit trains on, from its .dvc file."""
    return str(yaml.safe_load(Path(f"{RAW}.dvc").read_text())["outs"][0]["md5"])


def open_item() -> dict[str, Any] | None:
    """The open pull request or issue labelled `retraining` (GitHub lists pull requests among issues)."""
    found = github.listing(f"issues?state=open&labels={LABEL}")
    return min(found, key=lambda item: item["number"]) if found else None


def body(report: str, note: str) -> str:
    """The monitor's report, its plots named rather than linked (they are in the run's artifact)."""
    text = re.sub(r"^!\[[^\]]*\]\([^)]*\)\n?", "", report, flags=re.MULTILINE).rstrip()
    return f"{note}\n\n{text}\n\nPlots: the `monitor-report` artifact of the workflow run.\n"


def fetch(url: str, folder: Path) -> Path:
    target = folder / RAW.name
    dvc("get-url", url, str(target))
    if not target.is_file():
        raise ReleaseError(f"DATA={url}: not a file (give the labelled table, with the columns of {RAW})")
    return target


def retrain(table: Path, new_md5: str, report: str, failures: list[str]) -> str:
    """The new data version on a new branch, retrained, pushed (git and DVC), and its pull request opened."""
    branch = f"retrain/{datetime.now(UTC):%Y%m%dT%H%M%S}-{new_md5[:8]}"
    old = recorded_md5()
    start = gitrepo.git("symbolic-ref", "--quiet", "--short", "HEAD", check=False)  # "" when detached
    back = ["switch", "--quiet", start] if start else ["switch", "--quiet", "--detach", gitrepo.head()]
    gitrepo.git("switch", "--quiet", "--create", branch)
    try:
        shutil.copyfile(table, RAW)
        dvc("add", "--quiet", str(RAW))
        dvc("repro")
        gitrepo.git("add", "--", *COMMITTED)
        title = f"Retrain {MODEL_NAME} on new data: {failures[0]}"
        message = (
            f"{title}\n\nThe scheduled monitor found {len(failures)} problem(s) in production traffic.\n"
            f"{RAW} {old[:8]} -> {new_md5[:8]}; `dvc repro` retrained on it.\n\nData-Version: {new_md5}\n"
        )
        gitrepo.git("commit", "--quiet", "-m", message)
        dvc("push", "--quiet")
        gitrepo.push(branch)
        note = (
            f"The scheduled monitor found the data moved. This branch makes the latest labelled data "
            f"(`{RAW}`, md5 `{old[:8]}` -> `{new_md5[:8]}`) the raw data and retrains with `make repro`; "
            f"CI's report compares the new model with production."
        )
        pull = github.api("pulls", "POST", {"title": title, "head": branch, "base": DEFAULT_BRANCH,
                                             "body": body(report, note)})  # fmt: skip
        if pull is None:
            raise ReleaseError("GitHub is not reachable: GITHUB_REPOSITORY and GH_TOKEN are needed")
        github.api(f"issues/{pull['number']}/labels", "POST", {"labels": [LABEL]})
        return f"opened retraining pull request #{pull['number']} from {branch}"
    finally:
        gitrepo.git(*back)


def main(*, monitor: Path, data: str | None) -> int:
    verdict = monitor / "result.json"
    if not verdict.exists():
        raise ReleaseError(f"no {verdict}: run `make monitor` first")
    failures = list(json.loads(verdict.read_text())["failures"])
    if not failures:
        print("propose-retraining: the monitor found nothing past its thresholds: nothing to propose")
        return 0
    if not github.reachable():
        raise ReleaseError("GitHub is not reachable: run in monitor.yml, or set GITHUB_REPOSITORY and log in to gh")
    report = (monitor / "report.md").read_text()
    item = open_item()
    if item is not None:
        github.api(f"issues/{item['number']}/comments", "POST", {"body": body(report, "The monitor ran again:")})
        kind = "pull request" if "pull_request" in item else "issue"
        print(f"propose-retraining: retraining {kind} #{item['number']} is open: commented the new report on it")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        table = fetch(data, Path(folder)) if data else None
        new = md5(table) if table else None
        if table is not None and new is not None and new != recorded_md5():
            print(f"propose-retraining: {retrain(table, new, report, failures)}")
            return 0
    why = "no labelled data source is configured (DATA)" if not data else f"{data} holds no new version of {RAW}"
    note = f"The scheduled monitor found the data moved, and {why}: label recent traffic, then run it again."
    issue = github.api("issues", "POST", {"title": f"{MODEL_NAME}: {failures[0]}", "body": body(report, note),
                                          "labels": [LABEL]})  # fmt: skip
    print(f"propose-retraining: {why}; opened issue #{issue['number'] if issue else '?'}")
    return 0
