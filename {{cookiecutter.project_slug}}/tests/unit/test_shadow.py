"""The shadow challenger without a server: its pin field, its scoring in the log's thread, `compare-shadow`.

The models are small stand-ins pickled into verified folders (the served path's trained models are the
robustness stage's, tests/robustness/test_shadow.py): one that answers a constant, one that raises.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from prometheus_client import REGISTRY

from {{ cookiecutter.package_name }}.contract.artifact import ARTIFACT_FILE, LINEAGE_FILE, sha256_file
from {{ cookiecutter.package_name }}.contract.identity import Lineage
from {{ cookiecutter.package_name }}.contract.schema import CLASSIFICATION, EXAMPLE, TARGET, TASK, allowed_values
from {{ cookiecutter.package_name }}.monitoring import compare_shadow
from {{ cookiecutter.package_name }}.release.promotion import gates, pins
from {{ cookiecutter.package_name }}.serving import requestlog
from {{ cookiecutter.package_name }}.serving.metrics import worker_metrics
from {{ cookiecutter.package_name }}.serving.shadow import Shadow
from tests.conftest import identity_record
from tests.unit.test_monitoring import Answer, settings, wait_for
from tests.unit.test_release import History, history, lineage, pin, promoted, verdicts  # noqa: F401  # history: a fixture

LABEL = EXAMPLE[TARGET]  # a value of the target: a class, or a number
# Another answer the model could give: a second class of the contract (metrics name the positive class,
# so an invented one would not do), or a value off by 0.5.
OTHER: Any = next(c for c in allowed_values(TARGET) or () if c != str(LABEL)) if CLASSIFICATION else float(LABEL) + 0.5


class Constant:
    """Answers `value` for every row (the classes it knows: value first, so argmax picks it)."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.classes_ = np.array([value, "z-unused"], dtype=object)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.tile([1.0, 0.0], (len(frame), 1))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.full(len(frame), self.value, dtype=float)


class Raising:
    """A challenger that raises on every row."""

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("the challenger is broken")

    predict = predict_proba


def folder(tmp_path: Path, model: Any, name: str) -> Path:
    """A model folder as the Bento packs it: the artifact and a lineage record naming its sha256."""
    where = tmp_path / name
    where.mkdir()
    joblib.dump(model, where / ARTIFACT_FILE)
    (where / LINEAGE_FILE).write_text(json.dumps(identity_record(sha256_file(where / ARTIFACT_FILE))))
    return where


def counted(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def logged(tmp_path: Path, shadow: Shadow, answers: list[Any], prefix: str = "r") -> pd.DataFrame:
    """The rows the request log writes for one-row requests answered `answers`, with the shadow scoring them."""
    log = requestlog.RequestLog(settings(tmp_path / "log"), worker_metrics(), "ab" * 32, shadow)
    for i, answer in enumerate(answers):
        log.record(f"{prefix}{i}", [dict(EXAMPLE)], [Answer(answer)], 1.0)
    mine = f'"request_id":"{prefix}'
    wait_for(lambda: sum(p.read_text().count(mine) for p in (tmp_path / "log").glob("*.jsonl")) == len(answers))
    return requestlog_lines(tmp_path / "log", prefix)


def requestlog_lines(log: Path, prefix: str) -> pd.DataFrame:
    lines = [json.loads(line) for p in sorted(log.glob("*.jsonl")) for line in p.read_text().splitlines()]
    return pd.DataFrame([line for line in lines if line["request_id"].startswith(prefix)]).sort_values("request_id")


# --- the pin's shadow ------------------------------------------------------------------------------


def with_shadow(sha: str = "b") -> dict[str, Any]:
    return pin("staging", "a").model_dump(mode="json") | {"shadow": {"source_commit": "1" * 40, "model": lineage(sha)}}


def test_a_pin_names_a_shadow_by_its_full_record_and_round_trips() -> None:
    parsed = pins.parse(json.dumps(with_shadow()), "deploy/environments/staging.yaml")
    assert parsed.shadow is not None and parsed.shadow.model.artifact.sha256 == "b" * 64
    assert pins.parse(pins.dump(parsed), "deploy/environments/staging.yaml") == parsed


def test_a_pin_without_a_shadow_is_written_as_before() -> None:
    assert "shadow" not in pins.dump(pin("staging", "a"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["shadow"]["model"]["artifact"].update(sha256="short"), "shadow.model.artifact.sha256"),
        (lambda d: d["shadow"].pop("source_commit"), "shadow.source_commit: Field required"),
        (lambda d: d["shadow"]["model"].update(artifact=d["model"]["artifact"]), "shadow: it is the pinned model"),
    ],
    ids=["bad digest", "no source commit", "the model itself"],
)
def test_a_malformed_shadow_is_refused_naming_the_field(change: Any, message: str) -> None:
    data = with_shadow()
    change(data)
    with pytest.raises(pins.PinError, match=message):
        pins.parse(json.dumps(data), "deploy/environments/staging.yaml")


def test_the_gates_check_a_shadows_record_against_its_own_source_commit(history: History) -> None:  # noqa: F811
    staged = promoted(history, "staging", "a")
    shadow = pins.Shadow(source_commit=history.train("b"), model=Lineage.model_validate(lineage("b")))
    assert verdicts(gates.gates(staged.model_copy(update={"shadow": shadow})))["shadow record"] is True
    forged = shadow.model_copy(update={"model": shadow.model.model_copy(update={"metrics": {"accuracy": 0.99}})})
    checks = gates.gates(staged.model_copy(update={"shadow": forged}))
    assert verdicts(checks)["shadow record"] is False and verdicts(checks)["record"] is True
    assert "differs from models/lineage.json" in next(c.detail for c in checks if c.name == "shadow record")
    assert "shadow record" not in verdicts(gates.gates(staged))


# --- scoring in the log's thread -------------------------------------------------------------------


def test_the_shadow_scores_each_logged_row_and_the_log_records_both_answers(tmp_path: Path) -> None:
    before = counted("model_shadow_scored_rows_total")
    shadow = Shadow(folder(tmp_path, Constant(LABEL), "shadow"), worker_metrics())
    lines = logged(tmp_path, shadow, [LABEL, OTHER, LABEL])
    assert list(lines["prediction"]) == [LABEL, OTHER, LABEL]
    assert list(lines["shadow_prediction"]) == [LABEL] * 3 and (lines["shadow_sha256"] == shadow.sha256).all()
    assert counted("model_shadow_scored_rows_total") - before == 3


def test_a_shadow_that_raises_costs_no_line_and_is_counted_and_told_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = counted("model_shadow_failures_total")
    shadow = Shadow(folder(tmp_path, Raising(), "shadow"), worker_metrics())
    with caplog.at_level(logging.WARNING, logger="bentoml.monitoring"):
        first = logged(tmp_path, shadow, [LABEL, LABEL])
        wait_for(lambda: counted("model_shadow_failures_total") - before == 2)
        shadow.score([dict(EXAMPLE)])  # fails again: counted, not told again
    assert list(first["prediction"]) == [LABEL, LABEL] and "shadow_prediction" not in first
    assert (first["shadow_error"] == "RuntimeError: the challenger is broken").all()
    assert counted("model_shadow_failures_total") - before == 3
    told = [r for r in caplog.records if "failed to score" in r.getMessage()]
    assert len(told) == 1 and "model_shadow_failures_total" in told[0].getMessage()


def test_a_tampered_shadow_is_refused_before_it_loads(tmp_path: Path) -> None:
    where = folder(tmp_path, Constant(LABEL), "shadow")
    (where / ARTIFACT_FILE).write_bytes((where / ARTIFACT_FILE).read_bytes() + b"x")
    with pytest.raises(Exception, match="lineage says"):
        Shadow(where, worker_metrics())


# --- compare-shadow --------------------------------------------------------------------------------


def compare(tmp_path: Path, *argv: str) -> tuple[int, str]:
    output = tmp_path / "shadow.md"
    labels = Path(argv[0]) if argv else None
    status = compare_shadow.main(log=tmp_path / "log", labels=labels, since=None, until=None, output=output)
    return status, output.read_text() if output.exists() else ""


def test_compare_shadow_reports_agreement_and_both_models_metrics_on_the_same_labelled_rows(tmp_path: Path) -> None:
    shadow = Shadow(folder(tmp_path, Constant(LABEL), "shadow"), worker_metrics())
    logged(tmp_path, shadow, [LABEL, OTHER, LABEL, OTHER])  # the served model is right on half, the shadow on all
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"request_id": [f"r{i}" for i in range(4)], TARGET: [LABEL] * 4}).to_csv(labels, index=False)
    status, text = compare(tmp_path, str(labels))
    assert status == 0, text
    assert f"Shadow challenger {shadow.sha256[:12]} against the served model {'ab' * 6}" in text
    assert "4 logged rows" in text and "failed on 0" in text
    if CLASSIFICATION:
        assert "the same class on 50.00% of the rows" in text
        assert f"| {LABEL} | 2 | 100.00% |" in text and f"| {OTHER} | 2 | 0.00% |" in text
        assert "| accuracy | 0.5 | 1.0 | +0.500000 | shadow better |" in text
        if TASK == "binary" and str(LABEL) == allowed_values(TARGET)[0]:  # no positive label: recall undefined
            # the served model answers the positive class twice, wrongly; the shadow never: no precision
            assert "| precision | 0.0 | - | | |" in text and "| recall |" not in text, text
    else:
        assert "Mean absolute difference of the predictions: 0.25" in text
        assert "| mae | 0.25 | 0.0 | -0.250000 |" in text
    assert "On labelled traffic (4 rows, the same for both)" in text


def test_compare_shadow_counts_the_rows_a_failing_shadow_could_not_score(tmp_path: Path) -> None:
    logged(tmp_path, Shadow(folder(tmp_path, Raising(), "shadow"), worker_metrics()), [LABEL] * 3)
    status, text = compare(tmp_path)
    assert status == 0 and "the shadow scored 0 and failed on 3" in text
    assert "shadow error on 3 rows: `RuntimeError: the challenger is broken`" in text


@pytest.mark.parametrize("case", ["missing log", "no shadow", "two shadows", "bad labels"])
def test_compare_shadow_refuses_bad_input_in_one_line_and_writes_nothing(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv: list[str] = []
    if case == "no shadow":
        log = requestlog.RequestLog(settings(tmp_path / "log"), worker_metrics(), "ab" * 32)
        log.record("r", [dict(EXAMPLE)], [Answer(LABEL)], 1.0)
        wait_for(lambda: any(p.read_text() for p in (tmp_path / "log").glob("*.jsonl")))
        expected = "no row of the log carries a shadow prediction"
    elif case == "two shadows":
        logged(tmp_path, Shadow(folder(tmp_path, Constant(LABEL), "one"), worker_metrics()), [LABEL])
        logged(tmp_path, Shadow(folder(tmp_path, Constant(OTHER), "two"), worker_metrics()), [LABEL], prefix="s")
        expected = "the log holds 2 pairs of models"
    elif case == "bad labels":
        logged(tmp_path, Shadow(folder(tmp_path, Constant(LABEL), "one"), worker_metrics()), [LABEL])
        (tmp_path / "labels.csv").write_text("request_id\nr0\n")
        argv = [str(tmp_path / "labels.csv")]
        expected = f"needs the columns request_id and {TARGET}"
    else:
        expected = "no such folder"
    status, text = compare(tmp_path, *argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        status == 2 and text == "" and len(err) == 1 and err[0].startswith("compare-shadow: ") and expected in err[0]
    ), err
