"""`score-spark` on local[2]: the same answers and the same refused rows as file->file scoring, from one
Spark run (the JVM starts once); refusals that need no Spark come before it starts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from {{ cookiecutter.package_name }}.batch import status
from tests.batch.conftest import BROKEN, ENV, score, tampered

REPEAT = 20  # the broken held-out rows twenty times, in row groups Spark reads as several partitions
CLEAN = 4  # then the unbroken rows four times: partitions where no row is refused


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, broken: pd.DataFrame, held_out: pd.DataFrame) -> dict[str, Path]:
    """The same broken Parquet file scored file->file and on Spark local[2]."""
    folder = tmp_path_factory.mktemp("spark")
    source = folder / "rows.parquet"
    clean = held_out.astype(str).where(held_out.notna(), None)
    rows = pd.concat([broken] * REPEAT + [clean] * CLEAN, ignore_index=True)
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), source, row_group_size=len(broken))
    assert score(source, folder / "file.parquet").returncode == status.REJECTED
    # Small splits (about three row groups each), so positions are rebuilt across partitions and the last
    # ones hold only clean rows.
    submit = f"--conf spark.sql.files.maxPartitionBytes={source.stat().st_size // 8} pyspark-shell"
    result = score(
        source,
        folder / "spark",
        "--master",
        "local[2]",
        command="score-spark",
        env=ENV | {"PYSPARK_SUBMIT_ARGS": submit},
    )
    assert result.returncode == status.REJECTED, result.stderr[-3000:]
    assert f"{len(BROKEN) * REPEAT} rows rejected" in result.stderr
    return {"folder": folder, "file": folder / "file.parquet", "spark": folder / "spark"}


def test_spark_answers_equal_file_to_file_answers_row_by_row(both: dict[str, Path]) -> None:
    file = pd.read_parquet(both["file"])
    spark = pd.read_parquet(both["spark"]).sort_values("row", ignore_index=True)
    assert len(list(both["spark"].glob("part-*.parquet"))) > 1  # the rows came from several partitions
    assert list(spark.columns) == list(file.columns)
    assert spark["row"].tolist() == file["row"].tolist()
    for column in file.columns:
        if pd.api.types.is_float_dtype(file[column]):
            assert spark[column].tolist() == pytest.approx(file[column].tolist(), abs=1e-12), column
        else:
            assert spark[column].tolist() == file[column].tolist(), column


def test_spark_refuses_the_same_rows_for_the_same_reasons(both: dict[str, Path]) -> None:
    order = ["row", "column"]
    file = pd.read_parquet(both["folder"] / "file.rejected.parquet").sort_values(order, ignore_index=True)
    spark = pd.read_parquet(both["folder"] / "spark.rejected").sort_values(order, ignore_index=True)
    assert len(file) == len(BROKEN) * REPEAT
    assert spark.astype(str).to_dict("records") == file.astype(str).to_dict("records")


def test_spark_refuses_a_tampered_artifact_before_spark_starts(tmp_path: Path, broken: pd.DataFrame) -> None:
    from tests.batch.conftest import ROOT

    broken.to_parquet(tmp_path / "rows.parquet")
    models = tampered(ROOT / "models", tmp_path / "models")
    result = score(tmp_path / "rows.parquet", tmp_path / "out", "--models", models, command="score-spark")
    assert result.returncode == status.REFUSED
    assert result.stderr.count("\n") == 1 and "refused" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_without_java_spark_scoring_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "JAVA_HOME"} | {"PATH": str(tmp_path)}  # no java on it
    result = score(tmp_path / "rows.parquet", tmp_path / "out", command="score-spark", env=env)
    assert result.returncode == status.NO_SPARK
    assert result.stderr.count("\n") == 1 and "no Java runtime found" in result.stderr, result.stderr
