"""Served traffic reaches the request log, /metrics and `monitor`: training-like traffic passes, a shift fails.

The served Bento writes its request log to the session's `request_log` folder; each test reads the
window of its own requests, so the order of the tests does not matter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract import params
from {{ cookiecutter.package_name }}.contract.schema import CATEGORICAL, FEATURE_NAMES, NUMERIC, TARGET, to_records
from tests.conftest import ROOT, call, need

BATCH = 8  # rows per request: the labels join on request id and row


def now() -> str:
    return datetime.now(UTC).isoformat()


def replay(url: str, frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Send the rows as requests with ids of our own; return the labels file's rows (request_id, row, target)."""
    labels = []
    records = to_records(frame)
    for start in range(0, len(records), BATCH):
        request_id = f"{prefix}-{start}"
        body = json.dumps({"records": records[start : start + BATCH]}).encode()
        headers = {"Content-Type": "application/json", "X-Request-Id": request_id}
        with urllib.request.urlopen(urllib.request.Request(f"{url}/predict", body, headers), timeout=30) as answer:
            assert answer.status == 200 and answer.headers["x-request-id"] == request_id
        labels += [{"request_id": request_id, "row": i, TARGET: frame[TARGET].iloc[start + i]}
                   for i in range(len(records[start : start + BATCH]))]  # fmt: skip
    return pd.DataFrame(labels)


def wait_logged(folder: Path, prefix: str, rows: int, timeout: float = 30.0) -> None:
    """The writer thread appends soon after the answers: wait until every row of `prefix` is on disk."""
    deadline = time.monotonic() + timeout
    while True:
        text = "".join(p.read_text() for p in folder.glob("requests-*.jsonl"))
        if text.count(f'"request_id":"{prefix}-') >= rows:
            return
        assert time.monotonic() < deadline, f"only {text.count(prefix)} of {rows} rows reached {folder}"
        time.sleep(0.2)


def monitor(log: Path, since: str, until: str, labels: Path, output: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "monitor", "--log", str(log),
           "--since", since, "--until", until, "--labels", str(labels), "--output", str(output)]  # fmt: skip
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    return pd.read_csv(need(ROOT / "data/prepared/train.csv", "make repro"))


def run(
    url: str, request_log: Path, frame: pd.DataFrame, prefix: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    since = now()
    labels = replay(url, frame, prefix)
    wait_logged(request_log, prefix, len(frame))
    labels.to_csv(tmp_path / "labels.csv", index=False)
    return monitor(request_log, since, now(), tmp_path / "labels.csv", tmp_path / "report")


def test_traffic_like_the_training_data_passes_the_monitor(
    url: str, request_log: Path, training: pd.DataFrame, tmp_path: Path
) -> None:
    result = run(url, request_log, training, "training", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    verdict = json.loads((tmp_path / "report/result.json").read_text())
    assert verdict["rows"] == verdict["labelled"] == len(training) and verdict["failures"] == []
    gated = {name for kind in ("min", "max") for name in params.load("evaluate", ROOT / "params.yaml").get(kind, {})}
    # Every metric the quality gate names is judged live (roc_auc from the logged probabilities too).
    assert {row["metric"] for row in verdict["decay"] if row["scope"] == "overall"} == gated, verdict["decay"]
    assert "Every check passes." in (tmp_path / "report/report.md").read_text()


def test_traffic_shifted_on_one_feature_fails_the_monitor_naming_it(
    url: str, request_log: Path, training: pd.DataFrame, tmp_path: Path
) -> None:
    shifted = training.copy()
    if NUMERIC:
        name = NUMERIC[0]
        shifted[name] = training[name].max()  # every row in the top bin: inside the contract, far from training
    else:
        name = CATEGORICAL[0]
        shifted[name] = training[name].mode()[0]
    result = run(url, request_log, shifted, "shifted", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"monitor: {name} drifted: PSI" in result.stderr
    assert not [f for f in FEATURE_NAMES if f != name and f"monitor: {f} drifted" in result.stderr]
    report = (tmp_path / "report/report.md").read_text()
    assert f"**{name} drifted" in report and (tmp_path / "report/psi.png").stat().st_size > 0


def series(name: str, **labels: str) -> str:
    """A series as /metrics prints it: name{label="value",...} (labels in the order given)."""
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def metric_lines(url: str, name: str) -> list[str]:
    status, text = call("GET", f"{url}/metrics")
    assert status == 200
    return [line for line in text.splitlines() if line.startswith(name)]


@pytest.mark.parametrize("feature", CATEGORICAL[:1])  # a contract without categories has none to be unseen
def test_an_unseen_category_is_refused_and_shows_in_metrics(url: str, feature: str) -> None:
    complete = pd.read_csv(need(ROOT / "data/prepared/test.csv", "make repro")).dropna(subset=FEATURE_NAMES)
    record = to_records(complete)[0]
    body = {"records": [{**record, feature: "never-seen-before"}]}
    before = metric_lines(url, series("model_unseen_categories_total", feature=feature))
    status, answer = call("POST", f"{url}/predict", json.dumps(body).encode())
    assert status == 400 and feature in json.dumps(answer)
    (line,) = metric_lines(url, series("model_unseen_categories_total", feature=feature))
    assert float(line.split()[-1]) == (float(before[0].split()[-1]) if before else 0.0) + 1
    assert metric_lines(url, series("model_rejected_requests_total", field=feature, reason="literal_error"))


def test_metrics_name_the_served_model(url: str) -> None:
    lineage = json.loads((ROOT / "models/lineage.json").read_text())
    (line,) = metric_lines(url, "model_info{")
    assert f'sha256="{lineage["artifact"]["sha256"]}"' in line and line.endswith(" 1.0")
