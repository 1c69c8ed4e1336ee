"""The request log's parts and the monitor's judgement, without a server: masking, settings, the writer, drift, decay."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.contract import drift, params
from {{ cookiecutter.package_name }}.contract.schema import (
    CATEGORICAL,
    CLASSIFICATION,
    EXAMPLE,
    FEATURE_NAMES,
    NUMERIC,
    TARGET,
    TASK,
    value_range,
)
from {{ cookiecutter.package_name }}.monitoring import monitor, traffic
from {{ cookiecutter.package_name }}.pipeline import evaluate
from {{ cookiecutter.package_name }}.serving import log_config, middleware, requestlog
from {{ cookiecutter.package_name }}.serving.metrics import worker_metrics
from tests.conftest import ROOT

SETTINGS = params.load("monitor", ROOT / "params.yaml")


def test_sensitive_columns_are_dropped_or_replaced_by_a_keyed_hash() -> None:
    row = {"name": "Ada", "age": 36.0, "missing": None}
    assert requestlog.mask(row, ("name",), "drop", b"") == {"age": 36.0, "missing": None}
    hashed = requestlog.mask(row, ("name", "missing"), "hash", b"key")
    assert hashed["age"] == 36.0 and hashed["missing"] is None and len(hashed["name"]) == 64
    assert hashed["name"] != requestlog.mask(row, ("name",), "hash", b"other")["name"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"REQUEST_LOG_SAMPLE": "2"}, "REQUEST_LOG_SAMPLE='2' is outside [0, 1]"),
        ({"REQUEST_LOG_SAMPLE": "half"}, "REQUEST_LOG_SAMPLE='half' is not a number"),
        ({"REQUEST_LOG_SENSITIVE": "keep"}, "REQUEST_LOG_SENSITIVE='keep': use `drop` or `hash`"),
        (
            {"REQUEST_LOG": "/tmp/x", "REQUEST_LOG_SENSITIVE": "hash"},
            "REQUEST_LOG_SENSITIVE=hash needs REQUEST_LOG_HASH_KEY",
        ),
    ],
)
def test_a_setting_the_log_cannot_use_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        log_config.from_environment()


def settings(folder: Path, **changes: Any) -> log_config.LogConfig:
    base = {"folder": folder, "store": None, "spool_bytes": 10**9, "sample": 1.0, "sensitive": "drop", "hash_key": b"", "rotate_bytes": 10**6,
            "rotate_seconds": 3600.0, "retain_days": 30.0, "queue_requests": 1000}  # fmt: skip
    return log_config.LogConfig(**(base | changes))


class Answer:
    def __init__(self, prediction: Any) -> None:
        self.prediction = prediction


def dropped(reason: str) -> float:
    return REGISTRY.get_sample_value("model_request_log_dropped_rows_total", {"reason": reason}) or 0.0


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the writer thread did not get there"
        time.sleep(0.02)


def test_the_writer_appends_one_line_per_row_and_rotates_files(tmp_path: Path) -> None:
    log = requestlog.RequestLog(settings(tmp_path, rotate_bytes=1000), worker_metrics(), "ab" * 32)
    row = dict(EXAMPLE)
    for burst in range(2):  # the second burst finds the first one's file past rotate_bytes
        for i in range(10):
            log.record(f"r{burst}-{i}", [row, row], [Answer(EXAMPLE[TARGET]), Answer(EXAMPLE[TARGET])], 1.5)
        wait_for(lambda n=burst: sum(len(p.read_text().splitlines()) for p in tmp_path.glob("*.jsonl")) == 20 * (n + 1))
    assert len(list(tmp_path.glob("requests-*.jsonl"))) > 1, "a file past rotate_bytes is closed, a new one begun"
    frame = traffic.read(tmp_path)
    assert len(frame) == 40 and set(frame["row"]) == {0, 1} and (frame["model_sha256"] == "ab" * 32).all()


def test_a_failing_sink_drops_rows_counts_them_and_never_raises(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    before = dropped("write_failed")
    log = requestlog.RequestLog(settings(tmp_path / "file" / "log"), worker_metrics(), "00" * 32)
    for i in range(5):
        log.record(f"r{i}", [dict(EXAMPLE)], [Answer(EXAMPLE[TARGET])], 1.0)  # returns: nothing is raised here
    wait_for(lambda: dropped("write_failed") - before == 5)


def test_a_full_queue_drops_at_once_instead_of_waiting(tmp_path: Path) -> None:
    log = requestlog.RequestLog(settings(tmp_path, queue_requests=1), worker_metrics(), "00" * 32)
    log.queue.put((0, "", [], [], 0, None))  # the writer may take it: then fill again
    before = dropped("queue_full")
    started = time.perf_counter()
    for _ in range(200):
        log.record("r", [dict(EXAMPLE)], [Answer(EXAMPLE[TARGET])], 1.0)
    assert time.perf_counter() - started < 1.0
    assert dropped("queue_full") > before


def test_a_rejected_body_is_counted_by_the_field_and_the_reason_it_names() -> None:
    record = {name: EXAMPLE[name] for name in FEATURE_NAMES}
    if CATEGORICAL:
        body = {"records": [record | {CATEGORICAL[0]: "never-seen"}]}
        assert middleware.problems(json.dumps(body).encode()) == [(CATEGORICAL[0], "literal_error")]
    assert middleware.problems(b"{not json") == [("(body)", "json_invalid")]
    assert middleware.problems(b"\x00" * 13) == [
        ("(body)", "json_invalid")
    ]  # no encoding JSON allows: found by fuzzing
    assert middleware.problems(json.dumps({"records": []}).encode()) == [("records", "too_short")]
    missing = {k: v for k, v in record.items() if k != FEATURE_NAMES[0]}
    assert middleware.problems(json.dumps({"records": [missing]}).encode()) == [(FEATURE_NAMES[0], "missing")]


def sample(rows: int, seed: int) -> pd.DataFrame:
    """Rows around the dataset's example: numbers spread over their range, categories from their values."""
    from {{ cookiecutter.package_name }}.contract.schema import allowed_values

    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for name in (*FEATURE_NAMES, TARGET):
        values = allowed_values(name)
        if values is not None:
            data[name] = rng.choice(list(values), rows)
        else:
            low, high = value_range(name) or (0.0, 1.0)
            data[name] = rng.uniform(low, high, rows)
    return pd.DataFrame(data)


def test_traffic_like_the_reference_passes_and_a_shift_on_one_feature_fails_naming_it() -> None:
    reference = drift.profile(sample(2000, 1), bins=10)
    served = sample(2000, 2).assign(prediction=lambda f: f[TARGET])
    assert monitor.check(served, reference, SETTINGS, {}, {})["failures"] == []
    name = NUMERIC[0] if NUMERIC else CATEGORICAL[0]
    shifted = served.assign(**{name: served[name].max()})
    failures = monitor.check(shifted, reference, SETTINGS, {}, {})["failures"]
    assert failures == [f"{name} drifted: PSI {failures[0].split('PSI ')[1]}"]


def test_every_field_a_log_line_adds_beside_the_features_is_one_no_column_may_be_named(tmp_path: Path) -> None:
    """The contract refuses columns named like these (contract/dataset.py), since the monitor's rows hold both."""
    from {{ cookiecutter.package_name }}.contract.dataset import LOG_FIELDS
    from {{ cookiecutter.package_name }}.serving.shadow import Shadow

    log = requestlog.RequestLog(settings(tmp_path), worker_metrics(), "ab" * 32)
    (line,) = log.lines((0.0, "r", [dict(EXAMPLE)], [Answer(EXAMPLE[TARGET])], 1.0))
    shadow = Shadow.__new__(Shadow)  # its fields only: no model folder needed
    shadow.sha256 = "cd" * 32
    shadow_fields = shadow.fields([Answer(EXAMPLE[TARGET])], 0) | shadow.fields("RuntimeError: broken", 0)
    assert set(json.loads(line)) | set(shadow_fields) | {"label"} <= LOG_FIELDS
    log.close()


def test_too_little_traffic_is_reported_and_not_judged() -> None:
    reference = drift.profile(sample(2000, 1), bins=10)
    served = sample(10, 2).assign(prediction=lambda f: f[TARGET])
    result = monitor.check(served, reference, SETTINGS, {}, {})
    assert result["failures"] == [] and "fewer than min_rows" in result["notes"][0]


def test_live_metrics_worse_than_evaluation_are_decay_overall_and_per_slice() -> None:
    reference = drift.profile(sample(2000, 1), bins=10)
    served = sample(2000, 1).assign(prediction=lambda f: f[TARGET], label=lambda f: f[TARGET])
    metric, kind = (
        ("accuracy", "min")
        if "accuracy" in monitor.live_metrics(served["label"], served["prediction"])
        else ("rmse", "max")
    )
    perfect = monitor.live_metrics(served["label"], served["prediction"])[metric]
    assert monitor.check(served, reference, SETTINGS, {metric: perfect}, {metric: kind})["failures"] == []
    wrong = served.assign(prediction=served[TARGET].sample(frac=1, random_state=0).to_numpy())
    failures = monitor.check(wrong, reference, SETTINGS, {metric: perfect}, {metric: kind})["failures"]
    assert any(f.startswith(f"{metric} decayed (overall)") for f in failures), failures
    if CATEGORICAL:
        assert any(f"({CATEGORICAL[0]}=" in f for f in failures), failures


def test_live_roc_auc_comes_from_the_logged_probabilities_and_matches_scikit_learn() -> None:
    from sklearn.metrics import roc_auc_score

    served = sample(400, 3)
    if not CLASSIFICATION:
        assert "roc_auc" not in monitor.live_metrics(served[TARGET], served[TARGET])
        return
    classes = sorted({str(v) for v in served[TARGET]})
    rng = np.random.default_rng(0)
    matrix = rng.dirichlet(np.ones(len(classes)), len(served))
    logged = pd.Series([dict(zip(classes, row, strict=True)) for row in matrix.tolist()])
    predicted = pd.Series([classes[i] for i in matrix.argmax(axis=1)])
    live = monitor.live_metrics(served[TARGET], predicted, logged)
    labels = served[TARGET].astype(str)
    expected = (
        roc_auc_score(labels == classes[1], matrix[:, 1])
        if len(classes) == 2
        else roc_auc_score(labels, matrix, multi_class="ovr", labels=classes)
    )
    assert live["roc_auc"] == round(float(expected), 6)
    assert "roc_auc" not in monitor.live_metrics(served[TARGET], predicted)  # nothing logged to rank by
    one_class = pd.Series([classes[0]] * len(served))
    assert "roc_auc" not in monitor.live_metrics(one_class, predicted, logged)  # undefined: left out, no error


def test_a_window_of_one_class_only_is_scored_not_refused() -> None:
    """A quiet day when nobody churned: labels and answers hold only the first class of the contract."""
    if not CLASSIFICATION:
        assert set(monitor.live_metrics(pd.Series([1.0, 2.0]), pd.Series([1.0, 2.5]))) == {"rmse", "mae", "r2"}
        return
    first = sorted({str(v) for v in sample(400, 4)[TARGET]})[0]
    only = pd.Series([first] * 40)
    live = monitor.live_metrics(only, only)
    assert live["accuracy"] == 1.0
    # binary: the positive class is absent from both, so what needs it is undefined and left out, not a 0 that
    # a gate on it would read as decay
    assert not {"f1", "precision", "recall"} & set(live), live


def test_a_gate_on_a_metric_the_rows_leave_undefined_fails() -> None:
    """A held-out file on which the model never answers the positive class: no precision, and no pass."""
    if TASK != "binary":
        assert not evaluate.UNDEFINABLE - {"roc_auc"}
        return
    results = evaluate.gate({"accuracy": 0.9}, {"min": {"precision": 0.5, "accuracy": 0.8}})
    assert results["precision"] == {"value": None, "min": 0.5, "passed": False} and results["accuracy"]["passed"]
    with pytest.raises(SystemExit, match=r"evaluate\.min\.precison: no such metric"):
        evaluate.gate({"accuracy": 0.9}, {"min": {"precison": 0.5}})


def test_labels_without_the_target_column_are_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("request_id,other\nr1,x\n")
    with pytest.raises(traffic.TrafficError, match=f"needs the columns request_id and {TARGET}"):
        traffic.join_labels(pd.DataFrame({"request_id": ["r1"], "row": [0]}), tmp_path / "labels.csv")


def test_classes_a_csv_reads_as_numbers_are_counted_as_their_categories() -> None:
    """An adopted table with classes 0 and 1: the training file reads them as numbers, the contract names them
    "0" and "1", and served predictions arrive as numbers again (as 1.0 beside a missing one)."""
    reference = drift.spec(pd.Series([0, 1, 1, 0]), ("0", "1"), bins=10)
    assert reference["shares"] == [0.5, 0.5] and reference["missing"] == 0.0
    assert drift.counts(reference, pd.Series([1.0, 0.0, None, 1.0])) == [1, 2]
    assert drift.counts(reference, pd.Series(["1", "0", "0", "1"])) == [2, 2]
