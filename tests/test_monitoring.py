"""The baked project's `make monitor` is a gate: a log like the training data passes, one shifted on a feature fails.
Then monitor.yml, run by the faithful runner for manual dispatches, turns a failed monitor into one retraining
pull request (or, with no new labelled data, one issue) through the recorded `gh`, and never a second.

What needs a served Bento (the request log written under load, /metrics, replayed traffic judged by
the monitor) is mostly the generated project's own acceptance and robustness stages, which
test_end_to_end.py (`make test`), test_workflows.py (ci.yml's acceptance job) and test_robustness.py
run. Here: the make target as a team's cron job calls it, on a log in the format the service writes,
and the request log of a served Bento written to an S3 bucket (moto's server) through an outage.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from . import servers
from .github import GitHub
from .stack import CREDENTIALS, REGION, credential_arguments, s3_server
from .workflows.jobs import JobResult
from .workflows.runner import for_project

pytestmark = pytest.mark.e2e

FEATURES = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]


def write_log(folder: Path, rows: pd.DataFrame) -> None:
    """rows as the service logs them: one JSON object per answered row (serving/requestlog.py)."""
    folder.mkdir(parents=True)
    at = datetime.now(UTC).isoformat()
    lines = []
    for i, row in enumerate(rows.to_dict("records")):
        features = {k: (None if pd.isna(row[k]) else row[k]) for k in FEATURES}
        lines.append(json.dumps({"time": at, "request_id": f"r{i}", "row": 0, "latency_ms": 1.0, "model_sha256": "0" * 64,
                                 "features": features, "prediction": row["species"], "probabilities": None}))  # fmt: skip
    (folder / "requests-20260101T000000000000Z-1.jsonl").write_text("\n".join(lines) + "\n")


def monitor(project: Path, env: dict[str, str], log: Path) -> subprocess.CompletedProcess[str]:
    cmd = ["make", "monitor", f"LOG={log}"]
    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=300)


def test_make_monitor_passes_training_traffic_and_fails_a_shift_naming_the_feature(
    trained: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    project, env = trained
    training = pd.read_csv(project / "data/prepared/train.csv")
    write_log(tmp_path / "like-training", training)
    passed = monitor(project, env, tmp_path / "like-training")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert " 0 problems" in passed.stdout, passed.stdout

    write_log(tmp_path / "shifted", training.assign(flipper_length_mm=training["flipper_length_mm"] + 25))
    failed = monitor(project, env, tmp_path / "shifted")
    assert failed.returncode != 0, failed.stdout + failed.stderr
    assert "monitor: flipper_length_mm drifted: PSI" in failed.stderr, failed.stderr
    report = (project / "build/monitor/report.md").read_text()
    assert "**flipper_length_mm drifted" in report and (project / "build/monitor/drift-flipper_length_mm.png").exists()
    assert not [f for f in FEATURES if f != "flipper_length_mm" and f"monitor: {f} drifted" in failed.stderr]

    for where, says in (([], "give LOG_URL=<the folder"), ([f"LOG_URL={tmp_path / 'none'}"], "does not exist")):
        fetched = subprocess.run(
            ["make", "fetch-traffic", *where], cwd=project, env=env, capture_output=True, text=True
        )
        assert fetched.returncode != 0 and says in fetched.stderr, fetched.stderr  # monitor.yml's copy of the log


def dispatch(clone: Path, env: dict[str, str], github: GitHub, **variables: Path) -> JobResult:
    """One manual run of monitor.yml with these repository variables (MONITOR_LOG_URL=…, …).

    The runs share one environment (UV_PROJECT_ENVIRONMENT in env), as runners restoring a cached venv
    would: each job's `make setup` still checks it against uv.lock, in seconds instead of minutes.
    """
    runner = for_project(clone, env, "monitor", workflow="monitor.yml", github=github, beside_origin=True,
                         variables={f"MONITOR_{k.upper()}_URL": str(v) for k, v in variables.items()})  # fmt: skip
    return runner.run_all(github.dispatch_event())["monitor"]


def step(job: JobResult, command: str) -> str:
    (found,) = [s for s in job.steps if s.name.startswith(command)]
    return "skipped" if found.skipped else f"exit {found.returncode}\n{found.output}"


def test_monitor_workflow_opens_one_retraining_pull_request_or_one_issue(
    trained: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    project, env = trained
    env = {**env, "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv")}
    clone = tmp_path / project.name  # the origin: the shared project's history stays as the promotion tests read it
    subprocess.run(["git", "clone", "--quiet", str(project), str(clone)], check=True)
    storage = f"{project.name}-dvc-storage"  # a copy: the retraining run pushes its data and model there
    shutil.copytree(project.parent / storage, tmp_path / storage)
    training = pd.read_csv(project / "data/prepared/train.csv")
    write_log(tmp_path / "log-like-training", training)
    write_log(tmp_path / "log-shifted", training.assign(flipper_length_mm=training["flipper_length_mm"] + 25))
    raw = pd.read_csv(project / "data/raw/penguins.csv")
    (tmp_path / "labelled").mkdir()
    newer = tmp_path / "labelled/penguins.csv"  # the latest labelled table: a different version of the raw data
    raw.drop(index=raw.index[::10]).to_csv(newer, index=False)
    newer_md5 = hashlib.md5(newer.read_bytes()).hexdigest()

    github = GitHub(clone, tmp_path / "github")
    quiet = dispatch(clone, env, github, log=tmp_path / "log-like-training", data=newer)
    assert quiet.ok, quiet.failure()
    assert step(quiet, "Propose retraining") == "skipped" and github.calls() == []

    moved = dispatch(clone, env, github, log=tmp_path / "log-shifted", data=newer)
    assert not moved.ok and "monitor: flipper_length_mm drifted: PSI" in step(moved, "make monitor")
    proposed = step(moved, "Propose retraining")
    assert proposed.startswith("exit 0") and "opened retraining pull request #9001 from retrain/" in proposed, proposed
    (pull,) = github.issues()
    assert "pull_request" in pull and pull["labels"] == [{"name": "retraining"}]
    assert "**flipper_length_mm drifted" in pull["body"] and "![" not in pull["body"]
    assert "island drifted" not in pull["body"]
    head = pull["pull_request"]["head"]
    changed = subprocess.run(["git", "diff", "--name-only", "main", head], cwd=clone, capture_output=True,
                             text=True, check=True).stdout.split()  # fmt: skip
    assert {"data/raw/penguins.csv.dvc", "dvc.lock", "models/lineage.json"} <= set(changed), changed
    dvc_file = subprocess.run(["git", "show", f"{head}:data/raw/penguins.csv.dvc"], cwd=clone, capture_output=True,
                              text=True, check=True).stdout  # fmt: skip
    assert f"md5: {newer_md5}" in dvc_file
    assert (tmp_path / storage / "files/md5" / newer_md5[:2] / newer_md5[2:]).exists()  # `dvc push` stored it
    calls = [(c["args"][2], c["args"][3].split("?")[0]) if c["args"][1] == "--method" else ("GET", c["args"][3])
             for c in github.calls()]  # fmt: skip
    assert calls == [
        ("GET", "repos/team/model/issues?state=open&labels=retraining&per_page=100"),
        ("POST", "repos/team/model/pulls"),
        ("POST", "repos/team/model/issues/9001/labels"),
    ], calls
    assert all(c["token"] for c in github.calls())

    again = dispatch(clone, env, github, log=tmp_path / "log-shifted", data=newer)
    assert "retraining pull request #9001 is open: commented" in step(again, "Propose retraining")
    assert len(github.issues()) == 1 and len(github.calls()) == 5
    assert github.calls()[-1]["args"][:4] == ["api", "--method", "POST", "repos/team/model/issues/9001/comments"]
    assert "**flipper_length_mm drifted" in github.state["comments"]["9001"][0]["body"]

    unlabelled = GitHub(clone, tmp_path / "github-unlabelled")  # nothing open; the source holds the current version
    issued = dispatch(clone, env, unlabelled, log=tmp_path / "log-shifted", data=project / "data/raw/penguins.csv")
    assert "holds no new version of data/raw/penguins.csv; opened issue #9001" in step(issued, "Propose retraining")
    (issue,) = unlabelled.issues()
    assert "pull_request" not in issue and issue["labels"] == [{"name": "retraining"}]
    assert "**flipper_length_mm drifted" in issue["body"]
    assert [c["args"][:4] for c in unlabelled.calls()][1] == ["api", "--method", "POST", "repos/team/model/issues"]
    branches = subprocess.run(["git", "branch", "--list", "retrain/*"], cwd=clone, capture_output=True, text=True)
    assert len(branches.stdout.split()) == 1  # the one pull request's branch; the issue made none


def test_the_served_request_log_reaches_an_s3_bucket_through_an_outage_and_make_monitor_reads_it(
    trained: tuple[Path, dict[str, str]], bento: str, tmp_path: Path
) -> None:
    """REQUEST_LOG=s3://… against an S3-compatible server (moto), the bucket missing at first: every answer
    is a 200, the failure is counted and told once per worker, the spooled files arrive once the bucket
    exists, and the last ones when the server stops. Copied back (boto3, as `aws s3 sync` would), the
    log passes `make monitor`.

    Kinder than a team's store: loopback without TLS, any keys accepted, no eventual listing delays.
    """
    import boto3

    project, env = trained
    rows = pd.read_csv(project / "data/prepared/train.csv")[FEATURES].head(200)
    bodies = [{"records": json.loads(rows.iloc[i : i + 10].to_json(orient="records"))} for i in range(0, 200, 10)]
    with s3_server(tmp_path) as endpoint:
        bucket = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **credential_arguments())
        serving = {**env, **CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": endpoint,
                   "REQUEST_LOG": "s3://team-logs/penguin-species/production", "REQUEST_LOG_ROTATE_S": "1",
                   "REQUEST_LOG_SPOOL": str(tmp_path / "spool")}  # fmt: skip
        log = tmp_path / "serve.log"
        with servers.bento(project, serving, bento, log) as url:

            def send(first: int, last: int) -> list[int]:
                return [request(url, bodies[i], f"req-{i}") for i in range(first, last)]

            assert send(0, 10) == [200] * 10  # no bucket yet
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and upload_failures(url) == 0:
                time.sleep(0.5)
            assert upload_failures(url) > 0, "the failing uploads are counted on /metrics"
            bucket.create_bucket(Bucket="team-logs")
            assert send(10, 20) == [200] * 10
        told = [x for x in log.read_text().splitlines() if "request log: cannot upload to s3://team-logs/" in x]
        assert 1 <= len(told) <= (len(os.sched_getaffinity(0)) or 1), told  # once per worker, not per retry
        assert "NoSuchBucket" in told[0]
        assert not list((tmp_path / "spool").glob("*")), "shipped files leave the spool; the last at shutdown"
        copy = tmp_path / "copy"
        copy.mkdir()
        pages = bucket.get_paginator("list_objects_v2").paginate(
            Bucket="team-logs", Prefix="penguin-species/production/"
        )
        for key in [item["Key"] for page in pages for item in page.get("Contents", [])]:
            bucket.download_file("team-logs", key, str(copy / key.rsplit("/", 1)[-1]))
    lines = [json.loads(x) for path in copy.glob("requests-*.jsonl") for x in path.read_text().splitlines()]
    assert sorted({x["request_id"] for x in lines}) == sorted(f"req-{i}" for i in range(20))
    assert len(lines) == 200
    judged = monitor(project, env, copy)
    assert judged.returncode == 0, judged.stdout + judged.stderr
    assert "200 served rows" in (project / "build/monitor/report.md").read_text()


def request(url: str, body: dict[str, object], request_id: str) -> int:
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Request-Id": request_id}
    with urllib.request.urlopen(urllib.request.Request(f"{url}/predict", data, headers), timeout=30) as answer:
        return int(answer.status)


def upload_failures(url: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as answer:
        text = answer.read().decode()
    found = [x for x in text.splitlines() if x.startswith("model_request_log_upload_failures_total")]
    return float(found[0].split()[-1]) if found else 0.0
