"""`score INPUT OUTPUT`: the same answers as in-process, bad rows refused with reasons, flat memory, and
one-line refusals with distinct exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from {{ cookiecutter.package_name }}.batch import status
from {{ cookiecutter.package_name }}.contract.artifact import load_verified
from {{ cookiecutter.package_name }}.contract.predict import predictions
from {{ cookiecutter.package_name }}.contract.schema import CLASSIFICATION, FEATURE_NAMES
from tests.batch.conftest import BROKEN, ENV, PACKAGE, score, tampered
from tests.conftest import ROOT


def in_process(models: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """What the service answers for these rows, as a table like the batch output's."""
    model, _ = load_verified(models)
    rows = frame[list(FEATURE_NAMES)].astype(object).where(frame.notna(), None).to_dict("records")
    answers = [p.model_dump() for p in predictions(model, rows)]
    table = pd.DataFrame({"prediction": [a["prediction"] for a in answers]})
    if CLASSIFICATION:
        for name in answers[0]["probabilities"]:
            table[f"probability_{name}"] = [a["probabilities"][name] for a in answers]
    return table


def read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_file_to_file_answers_equal_the_in_process_answers_row_by_row(
    tmp_path: Path, models: Path, held_out: pd.DataFrame, suffix: str
) -> None:
    source = tmp_path / f"rows{suffix}"
    held_out.to_csv(source, index=False) if suffix == ".csv" else held_out.to_parquet(source)
    result = score(source, tmp_path / f"answers{suffix}", "--chunk-rows", "10")  # several chunks
    assert result.returncode == status.SCORED, result.stderr
    out = read(tmp_path / f"answers{suffix}")
    assert out["row"].tolist() == list(range(len(held_out)))
    expected = in_process(models, held_out)
    assert out["prediction"].tolist() == expected["prediction"].tolist()
    for column in expected.columns[1:]:
        assert out[column].tolist() == pytest.approx(expected[column].tolist(), abs=1e-12)
    lineage = json.loads((models / "lineage.json").read_text())
    assert set(out["model_sha256"]) == {lineage["artifact"]["sha256"]}
    assert set(out["model_version"]) == {lineage["artifact"]["sha256"][:12]}
    if suffix == ".parquet":  # the whole record travels in the file's metadata
        assert json.loads(pq.read_schema(tmp_path / "answers.parquet").metadata[b"model_lineage"]) == lineage
    assert read(tmp_path / f"answers.rejected{suffix}").empty


def test_bad_rows_are_refused_with_their_column_and_reason_and_the_rest_scored(
    tmp_path: Path, models: Path, broken: pd.DataFrame, held_out: pd.DataFrame
) -> None:
    broken.to_csv(tmp_path / "rows.csv", index=False)
    result = score(tmp_path / "rows.csv", tmp_path / "answers.csv", "--chunk-rows", "4")
    assert result.returncode == status.REJECTED, result.stderr
    assert f"{len(BROKEN)} rows rejected" in result.stderr
    rejected = pd.read_csv(tmp_path / "answers.rejected.csv")
    found = {
        row: (column, reason.split("(")[0])
        for row, column, reason in rejected[["row", "column", "reason"]].itertuples(index=False)
    }
    assert found == {row: (column, reason) for row, (column, _, reason) in BROKEN.items()}
    out = pd.read_csv(tmp_path / "answers.csv")
    good = [i for i in range(len(held_out)) if i not in BROKEN]
    assert out["row"].tolist() == good
    assert out["prediction"].tolist() == in_process(models, held_out.iloc[good])["prediction"].tolist()


def peak_rss_mb(*args: str | Path) -> float:
    """The peak resident memory of one scoring run, measured by a parent that only waits for it."""
    code = "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    cmd = [sys.executable, "-c", code, sys.executable, "-m", PACKAGE, "score", *map(str, args)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=600, env=ENV).stdout
    return int(out) / 1024  # kilobytes on Linux


CHUNK = 5_000
FLAT_MB = 15  # what ten chunks instead of one may add: less than the file held at once adds (about 30 MB here)


def test_memory_stays_flat_on_a_file_ten_times_the_chunk(tmp_path: Path, held_out: pd.DataFrame) -> None:
    def rows(n: int) -> Path:
        path = tmp_path / f"rows-{n}.csv"
        pd.concat([held_out] * (n // len(held_out) + 1)).head(n).to_csv(path, index=False)
        return path

    one, ten = rows(CHUNK), rows(10 * CHUNK)
    small = peak_rss_mb(one, tmp_path / "one.parquet", "--chunk-rows", CHUNK)
    large = peak_rss_mb(ten, tmp_path / "ten.parquet", "--chunk-rows", CHUNK)
    whole = peak_rss_mb(ten, tmp_path / "whole.parquet", "--chunk-rows", 10 * CHUNK)
    assert large - small < FLAT_MB, f"{small:.0f} MB for one chunk, {large:.0f} MB for ten"
    # The measure can see a file held at once: the same file in one chunk costs more than the bound.
    assert whole - small > FLAT_MB, f"{small:.0f} MB for one chunk, {whole:.0f} MB for ten at once"


def test_a_tampered_artifact_is_refused_before_any_row_is_read(
    tmp_path: Path, models: Path, held_out: pd.DataFrame
) -> None:
    held_out.to_csv(tmp_path / "rows.csv", index=False)
    result = score(tmp_path / "rows.csv", tmp_path / "answers.csv", "--models", tampered(models, tmp_path / "models"))
    assert result.returncode == status.REFUSED
    assert result.stderr.count("\n") == 1 and "refused" in result.stderr and "sha256" in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models", "rows.csv"]  # nothing written


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("short.csv", "species,island\nAdelie,Dream\n", "lacks the column(s) bill_length_mm"),
        ("garbage.parquet", "not parquet", "unreadable as parquet"),
        ("rows.json", "{}", "unknown format '.json'"),
        ("absent.csv", None, "no such file"),
    ],
)
def test_unusable_input_is_named_in_one_line_and_nothing_is_written(
    tmp_path: Path, name: str, content: str | None, expected: str
) -> None:
    if content is not None:
        (tmp_path / name).write_text(content)
    result = score(tmp_path / name, tmp_path / "out" / "answers.csv")
    assert result.returncode == status.UNUSABLE
    assert result.stderr.count("\n") == 1 and expected in result.stderr and name in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()
