"""The request log's object-store sink without a store: settings, shipping, a failing store, the spool's limit, exit.

`put` stands in for the bucket here; tests/test_monitoring.py of the template serves the Bento against an
S3-compatible server (moto) for the whole path.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.contract.schema import EXAMPLE, TARGET
from {{ cookiecutter.package_name }}.serving import log_config, requestlog, upload
from {{ cookiecutter.package_name }}.serving.metrics import worker_metrics
from tests.unit.test_monitoring import Answer, dropped, settings, wait_for


def failures() -> float:
    return REGISTRY.get_sample_value("model_request_log_upload_failures_total") or 0.0


class Bucket:
    """Keys and bodies put; raises while `down` is set."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.down: Exception | None = None

    def put(self, path: Path, key: str) -> None:
        if self.down is not None:
            raise self.down
        self.objects[key] = path.read_bytes()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload, "RETRY_S", 0.05)


def spool(tmp_path: Path, **changes: Any) -> log_config.LogConfig:
    return settings(tmp_path / "spool", store="s3://logs/prod/penguins", **changes)


def closed_file(folder: Path, name: str, rows: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(json.dumps({"row": i}) + "\n" for i in range(rows)))
    return path


def test_an_s3_destination_writes_a_spool_and_anything_else_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REQUEST_LOG", "s3://team-logs/penguins/production/")
    monkeypatch.setenv("REQUEST_LOG_SPOOL", str(tmp_path))
    found = log_config.from_environment()
    assert found.store == "s3://team-logs/penguins/production" and found.folder == tmp_path
    assert found.rotate_seconds == 600  # a store sees a file only when it closes
    for where in ("gs://team-logs/x", "s3://", "s3://Team_Logs/x", "https://example.com/logs"):
        monkeypatch.setenv("REQUEST_LOG", where)
        with pytest.raises(ValueError, match=r"^REQUEST_LOG='.*': use a folder or s3://<bucket>/<prefix>"):
            log_config.from_environment()


def test_closed_files_are_uploaded_under_the_prefix_and_deleted(tmp_path: Path) -> None:
    bucket = Bucket()
    log = requestlog.RequestLog(spool(tmp_path, rotate_seconds=0.3), worker_metrics(), "ab" * 32,
                                uploader=upload.Uploader(spool(tmp_path), worker_metrics(), bucket.put))  # fmt: skip
    for i in range(3):
        log.record(f"r{i}", [dict(EXAMPLE)], [Answer(EXAMPLE[TARGET])], 1.0)
    # No more traffic: the file still closes at its age, and the store gets it.
    wait_for(lambda: len(bucket.objects) == 1)
    ((key, body),) = bucket.objects.items()
    assert key.startswith("prod/penguins/requests-") and key.endswith(f"-{os.getpid()}.jsonl"), key
    assert len(body.splitlines()) == 3
    wait_for(lambda: not list((tmp_path / "spool").glob("*.jsonl")))  # shipped, then deleted


def test_a_failing_store_keeps_the_files_counts_once_and_ships_them_when_it_is_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = Bucket()
    bucket.down = ConnectionError("store unreachable")
    shipper = upload.Uploader(spool(tmp_path), worker_metrics(), bucket.put)
    before = failures()
    with caplog.at_level(logging.WARNING, logger="bentoml.monitoring"):
        for name in ("requests-a-h-1.jsonl", "requests-b-h-1.jsonl"):
            shipper.submit(closed_file(tmp_path / "spool", name, 2))
        wait_for(lambda: failures() - before >= 3)  # retried, every failure counted
        said = [r.getMessage() for r in caplog.records if "cannot upload to s3://logs/prod/penguins" in r.getMessage()]
        assert len(said) == 1 and "ConnectionError: store unreachable" in said[0], said
        assert len(list((tmp_path / "spool").glob("*.jsonl"))) == 2 and bucket.objects == {}
        bucket.down = None
        wait_for(lambda: len(bucket.objects) == 2)
        assert "request log: uploading to s3://logs/prod/penguins again" in caplog.text
    assert list(bucket.objects) == ["prod/penguins/requests-a-h-1.jsonl", "prod/penguins/requests-b-h-1.jsonl"]
    wait_for(lambda: not list((tmp_path / "spool").glob("*.jsonl")))


def test_past_the_spool_limit_the_oldest_files_go_and_their_rows_are_counted(tmp_path: Path) -> None:
    bucket = Bucket()
    bucket.down = PermissionError("AccessDenied")
    shipper = upload.Uploader(spool(tmp_path, spool_bytes=100), worker_metrics(), bucket.put)
    before = dropped("upload_failed")
    for name in ("requests-a-h-1.jsonl", "requests-b-h-1.jsonl", "requests-c-h-1.jsonl"):
        shipper.submit(closed_file(tmp_path / "spool", name, 5))  # 55 bytes each
        time.sleep(0.1)
    left = {p.name for p in (tmp_path / "spool").glob("*.jsonl")}
    assert left == {"requests-c-h-1.jsonl"} or (len(left) == 1 and shipper.shipping is not None), left
    assert dropped("upload_failed") - before == 5 * (3 - len(left))


def test_a_gone_worker_s_files_are_shipped_at_start_and_a_live_one_s_left_to_it(tmp_path: Path) -> None:
    finished = subprocess.Popen(["true"])  # a worker that has exited
    finished.wait()
    live = os.getppid()
    closed_file(tmp_path / "spool", f"requests-a-h-{finished.pid}.jsonl", 1)
    closed_file(tmp_path / "spool", f"requests-b-h-{live}.jsonl", 1)
    bucket = Bucket()
    upload.Uploader(spool(tmp_path), worker_metrics(), bucket.put)
    wait_for(lambda: len(bucket.objects) == 1)
    assert list(bucket.objects) == [f"prod/penguins/requests-a-h-{finished.pid}.jsonl"]
    assert (tmp_path / "spool" / f"requests-b-h-{live}.jsonl").exists()


def test_at_exit_what_is_queued_is_written_and_shipped(tmp_path: Path) -> None:
    bucket = Bucket()
    log = requestlog.RequestLog(spool(tmp_path), worker_metrics(), "ab" * 32,
                                uploader=upload.Uploader(spool(tmp_path), worker_metrics(), bucket.put))  # fmt: skip
    for i in range(4):
        log.record(f"r{i}", [dict(EXAMPLE)], [Answer(EXAMPLE[TARGET])], 1.0)
    log.close()  # what the service's shutdown hook calls: no wait for the writer's clock or the file's age
    assert [len(body.splitlines()) for body in bucket.objects.values()] == [4]
    log.record("late", [dict(EXAMPLE)], [Answer(EXAMPLE[TARGET])], 1.0)  # after close: queued, never raises
