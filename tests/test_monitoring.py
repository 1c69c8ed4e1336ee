"""The baked project's `make monitor` is a gate: a log like the training data passes, one shifted on a feature fails.

What needs a served Bento (the request log written under load, /metrics, replayed traffic judged by
the monitor) is the generated project's own acceptance and robustness stages, which
test_end_to_end.py (`make test`), test_workflows.py (ci.yml's acceptance job) and test_robustness.py
run. Here: the make target as a team's cron job calls it, on a log in the format the service writes,
without a server.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

FEATURES = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]


def write_log(folder: Path, rows: pd.DataFrame) -> None:
    """rows as the service logs them: one JSON object per answered row (monitoring/live/requestlog.py)."""
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
