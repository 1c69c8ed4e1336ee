"""`score-spark INPUT OUTPUT`: the same scoring on Spark, for data that outgrows one machine.

The driver verifies the artifact, then ships exactly those bytes to the executors once (a broadcast);
each Python worker checks their digest again and unpickles them once. Rows are scored with mapInPandas
through the same contract split (rows.py) and the same answer table as file->file scoring, and keep
their position in the input, so both paths' outputs compare row by row.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..contract.artifact import ArtifactError, read_verified, sha256_bytes
from ..contract.identity import Lineage
from ..contract.names import MODEL_NAME
from ..contract.schema import CLASSIFICATION, FEATURE_NAMES
from . import status
from .rows import REJECTED_COLUMNS, ROW, UnusableInputError, require_columns, split
from .score import CHUNK_ROWS, IDENTITY, rejected_path, scored_frame

KIND = "_kind"  # scored or rejected: one pass over the input yields both outputs
_ID_BITS = 33  # monotonically_increasing_id(): partition index above bit 33, position in partition below
PANDAS_WARNING = "PySpark does not yet fully support pandas"
_MODELS: dict[str, Any] = {}  # per Python worker: the model unpickled once, by digest


def java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _model(data: bytes, sha256: str) -> Any:
    if sha256 not in _MODELS:
        import io

        import joblib

        if sha256_bytes(data) != sha256:  # what arrived is what the driver verified, or nothing is scored
            raise ArtifactError(f"the broadcast artifact's sha256 is {sha256_bytes(data)[:12]}…, not {sha256[:12]}…")
        _MODELS[sha256] = joblib.load(io.BytesIO(data))
    return _MODELS[sha256]


def _schema(classes: list[str]) -> Any:
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    answer = [StructField("prediction", StringType() if CLASSIFICATION else DoubleType())]
    answer += [StructField(f"probability_{c}", DoubleType()) for c in classes]
    text = [StructField(name, StringType()) for name in (*IDENTITY, *REJECTED_COLUMNS[1:])]
    return StructType([StructField(ROW, LongType()), StructField(KIND, StringType()), *answer, *text])


def _scorer(artifact: Any, lineage: Lineage, offsets: np.ndarray, types: dict[str, str]) -> Any:
    """The function each partition runs; `types` maps every output column to its Spark type's name."""
    sha256 = lineage.artifact.sha256
    text = [name for name, kind in types.items() if kind == "string"]
    numbers = {name: "int64" if kind == "long" else "float64" for name, kind in types.items() if name not in text}

    def score_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = _model(artifact.value, sha256)
        for batch in batches:
            ids = batch.pop("_id").to_numpy(dtype="int64")
            positions = pd.Series(offsets[ids >> _ID_BITS] + (ids & ((1 << _ID_BITS) - 1)))
            valid, rows, refused = split(batch, positions)
            scored = scored_frame(model, valid, rows, lineage).assign(**{KIND: "scored"})
            refused = refused.assign(**{KIND: "rejected"})
            out = pd.concat([scored, refused], ignore_index=True).reindex(columns=list(types))
            # Every column in exactly its Spark type: PySpark 4 fails on pandas 3's Arrow-backed text
            # ("Cannot convert ChunkedArray to Array"), so text goes as Python objects, None where missing.
            out = out.astype(numbers | dict.fromkeys(text, object))
            out[text] = out[text].where(out[text].notna(), None)
            yield out

    return score_partition


def score_spark(
    *, input: Path, output: Path, models: Path, rejected: Path | None = None, master: str | None = None
) -> int:
    rejected = rejected or rejected_path(output)
    if java() is None:
        print(
            "score-spark: no Java runtime found: install one (Debian: apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17) or set JAVA_HOME",
            file=sys.stderr,
        )
        return status.NO_SPARK
    try:
        from pyspark.sql import SparkSession
        from pyspark.sql import functions as F
    except ImportError:
        print(
            "score-spark: PySpark is not installed: `make score-spark` installs it (uv sync --group spark)",
            file=sys.stderr,
        )
        return status.NO_SPARK
    try:  # verified on the driver before Spark reads a row; the executors get these very bytes
        artifact_bytes, lineage = read_verified(models)
        model = _model(artifact_bytes, lineage.artifact.sha256)
    except ArtifactError as error:
        print(f"score-spark: refused: {error}", file=sys.stderr)
        return status.REFUSED
    # Executors run this interpreter (the project's environment), unless a cluster's own settings say otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # PySpark 4 warns that pandas 3 is not fully supported; the tests check the parts scoring relies on
    # (mapInPandas both ways, Parquet), and the warning would repeat in every worker's log.
    os.environ.setdefault("PYTHONWARNINGS", f"ignore:{PANDAS_WARNING}:FutureWarning")
    warnings.filterwarnings("ignore", PANDAS_WARNING, FutureWarning)
    builder = SparkSession.builder.appName(f"{MODEL_NAME}-score")
    if master or "PYSPARK_GATEWAY_PORT" not in os.environ:  # under spark-submit, its --master decides
        builder = builder.master(master or "local[*]")
    spark = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower())  # a bar on a terminal only
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(CHUNK_ROWS))
        # A task per core already uses every core: the model's own threads would only contend with them.
        .config("spark.executorEnv.OMP_NUM_THREADS", "1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        return _run(spark, F, input, output, rejected, model, lineage, artifact_bytes)
    finally:
        spark.stop()


def _run(
    spark: Any,
    F: Any,
    input: Path,
    output: Path,
    rejected: Path,
    model: Any,
    lineage: Lineage,
    artifact_bytes: bytes,
) -> int:
    from pyspark.errors import AnalysisException

    try:
        frame = spark.read.parquet(str(input))
        require_columns(frame.columns, str(input))
    except AnalysisException as error:
        print(f"score-spark: {input}: unreadable as parquet ({str(error).splitlines()[0]})", file=sys.stderr)
        return status.UNUSABLE
    except UnusableInputError as error:
        print(f"score-spark: {error}", file=sys.stderr)
        return status.UNUSABLE
    frame = frame.select(*FEATURE_NAMES).withColumn("_id", F.monotonically_increasing_id())
    # Each row's position in the input: rows before its partition, plus its place inside it.
    counts = dict(frame.groupBy(F.spark_partition_id().alias("p")).count().collect())
    sizes = np.zeros(max(counts, default=-1) + 1, dtype="int64")
    for partition, size in counts.items():
        sizes[partition] = size
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype("int64")

    schema = _schema([str(c) for c in model.classes_] if CLASSIFICATION else [])
    scorer = _scorer(
        spark.sparkContext.broadcast(artifact_bytes),
        lineage,
        offsets,
        {f.name: f.dataType.typeName() for f in schema.fields},
    )
    result = frame.mapInPandas(scorer, schema).persist()
    try:
        answers = [f.name for f in schema.fields if f.name not in (KIND, *REJECTED_COLUMNS[1:])]
        result.filter(F.col(KIND) == "scored").select(*answers).write.mode("overwrite").parquet(str(output))
        result.filter(F.col(KIND) == "rejected").select(*REJECTED_COLUMNS).write.mode("overwrite").parquet(
            str(rejected)
        )
        refused = result.filter(F.col(KIND) == "rejected").select(ROW).distinct().count()
    finally:
        result.unpersist()
    total = int(sizes.sum())
    version = lineage.version
    return status.outcome(
        "score-spark", total=total, refused=refused, version=version, output=output, rejected=rejected
    )
