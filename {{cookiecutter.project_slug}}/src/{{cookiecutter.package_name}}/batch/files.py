"""Reading input files in chunks and writing the outputs a chunk at a time, CSV or Parquet by file suffix.

Nothing is held beyond one chunk, so memory stays flat however long the file is. Outputs are written
beside their final name and moved into place only when the run finishes: a failed run leaves nothing
that looks like a result.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ..contract.identity import Lineage
from ..contract.schema import CATEGORICAL
from .rows import UnusableInputError, require_columns

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
LINEAGE_KEY = b"model_lineage"  # Parquet key-value metadata: the full lineage record of the model that scored


def file_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise UnusableInputError(f"{path}: unknown format {path.suffix!r}; use .csv or .parquet") from None


def open_input(path: Path, rows: int) -> tuple[int | None, Iterator[pd.DataFrame]]:
    """The number of rows when the file says so cheaply (Parquet's footer), and its rows `rows` at a time.
    An unreadable file or a contract column missing fails here, before the first chunk."""
    kind = file_format(path)
    with _unusable(path, kind):
        if kind == "parquet":
            source = pq.ParquetFile(path)
            require_columns(source.schema_arrow.names, str(path))
            return source.metadata.num_rows, _read(path, kind, (b.to_pandas() for b in source.iter_batches(rows)))
        require_columns(list(pd.read_csv(path, nrows=0).columns), str(path))
        # Categories read as text, so a chunk whose values are all missing is not taken for numbers.
        reader = pd.read_csv(path, chunksize=rows, dtype=dict.fromkeys(CATEGORICAL, "str"))
        return None, _read(path, kind, reader)


def _read(path: Path, kind: str, frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    with _unusable(path, kind):  # a later chunk can be broken too
        yield from frames


@contextmanager
def _unusable(path: Path, kind: str) -> Iterator[None]:
    try:
        yield
    except UnusableInputError:
        raise
    except FileNotFoundError:
        raise UnusableInputError(f"{path}: no such file") from None
    except (OSError, ValueError, UnicodeDecodeError, pa.ArrowException, pd.errors.ParserError) as error:
        reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        raise UnusableInputError(f"{path}: unreadable as {kind} ({reason})") from None


class Writer:
    """One output file, appended a chunk at a time with a schema fixed by the first chunk."""

    def __init__(self, path: Path, lineage: Lineage | None = None) -> None:
        self.path, self.kind = path, file_format(path)
        self.partial = path.with_name(f".{path.name}.partial")
        self.lineage = lineage
        self.writer: Any = None
        self.schema: pa.Schema | None = None

    def write(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        if self.writer is None:
            self.schema = table.schema.remove_metadata()
            if self.lineage is not None:
                self.schema = self.schema.with_metadata(
                    {LINEAGE_KEY: self.lineage.model_dump_json(exclude_none=True).encode()}
                )
            table = table.cast(self.schema)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.kind == "parquet":
                self.writer = pq.ParquetWriter(self.partial, self.schema)
            else:
                self.writer = pa_csv.CSVWriter(self.partial, self.schema)
        self.writer.write_table(table.cast(self.schema))

    def finish(self, empty: pd.DataFrame) -> None:
        """Close and move into place; a run that wrote nothing still leaves a file with the columns."""
        if self.writer is None:
            self.write(empty)
        self.writer.close()
        self.partial.replace(self.path)

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.partial.unlink(missing_ok=True)
