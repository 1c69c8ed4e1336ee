"""Batch scoring side by side on one file of N rows: the in-process vectorised predict (the floor), the
file->file command (`score`), and Spark local[2] (`score-spark`), each in its own process, its peak
memory read from the kernel (ru_maxrss of the largest process it ran).

Targets (docs/benchmarks.md): file->file at least 0.8x the floor with flat memory (a tenth of the rows
peaks at about the same memory); Spark local[2] within 2x of file->file.
"""

from __future__ import annotations

import json
from typing import Any

from .project import PACKAGE, Project

ROW_GROUP = 100_000

MAKE_INPUT = """
import sys, pandas as pd, pyarrow as pa, pyarrow.parquet as pq
rows, out, group = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
held = pd.read_csv("data/prepared/test.csv")
frame = pd.concat([held] * (rows // len(held) + 1), ignore_index=True).head(rows)
pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out, row_group_size=group)
"""

FLOOR = """
import json, resource, sys, time, pandas as pd
from {package}.contract.artifact import load_verified
from {package}.contract.predict import table
from {package}.contract.schema import FEATURE_NAMES, to_frame
model, _ = load_verified(__import__("pathlib").Path("models"))
frame = pd.read_parquet(sys.argv[1])
frame = to_frame(frame[list(FEATURE_NAMES)].astype(object).where(frame.notna(), None).to_dict("records"))
started = time.perf_counter()
answers = table(model, frame)
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "rows": len(answers), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

MEASURED = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - started
if done.returncode:
    sys.exit(done.stderr[-3000:])
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def _json(project: Project, *cmd: str) -> dict[str, Any]:
    return dict(json.loads(project.run(*cmd, timeout=3600).strip().splitlines()[-1]))


def measure(project: Project, rows: int) -> dict[str, Any]:
    work = project.path / "build/bench-batch"
    work.mkdir(parents=True, exist_ok=True)
    source, tenth = work / "rows.parquet", work / "rows-tenth.parquet"
    project.run(project.python, "-c", MAKE_INPUT, str(rows), str(source), str(ROW_GROUP))
    project.run(project.python, "-c", MAKE_INPUT, str(rows // 10), str(tenth), str(ROW_GROUP))
    score = [project.python, "-m", PACKAGE, "score"]
    print(f"bench: batch: {rows} rows", flush=True)
    results: dict[str, Any] = {"rows": rows}

    def part(name: str, n: int, *cmd: str) -> None:
        results[name] = _json(project, *cmd)
        results[name]["rows_per_s"] = n / results[name]["seconds"]
        print(
            f"bench: batch: {name} {results[name]['rows_per_s']:,.0f} rows/s, peak {results[name]['peak_mb']:.0f} MB",
            flush=True,
        )

    part("floor", rows, project.python, "-c", FLOOR.format(package=PACKAGE), str(source))
    part("file", rows, project.python, "-c", MEASURED, *score, str(source), str(work / "out.parquet"))
    part("file_tenth", rows // 10, project.python, "-c", MEASURED, *score, str(tenth), str(work / "out-tenth.parquet"))
    project.run("uv", "sync", "--group", "spark", "--quiet")  # what `make score-spark` installs
    spark = [project.python, "-m", PACKAGE, "score-spark", str(source), str(work / "spark"), "--master", "local[2]"]
    part("spark", rows, project.python, "-c", MEASURED, *spark)
    return results


def markdown(results: dict[str, Any]) -> str:
    floor, file, tenth, spark = (results[k] for k in ("floor", "file", "file_tenth", "spark"))
    vs_floor = file["rows_per_s"] / floor["rows_per_s"]
    vs_file = file["rows_per_s"] / spark["rows_per_s"]
    growth = file["peak_mb"] - tenth["peak_mb"]
    # The rows a second the last nine tenths of the file took: process start and unpickling cancel out.
    marginal = (results["rows"] - results["rows"] // 10) / (file["seconds"] - tenth["seconds"])
    lines = [
        f"## Batch scoring: {results['rows']:,} rows, one Parquet file",
        "",
        "| path | rows/s | wall s | peak memory MB | against |",
        "|---|---:|---:|---:|---|",
        f"| in-process vectorised predict (floor; predict only, rows already in memory) | {floor['rows_per_s']:,.0f} | {floor['seconds']:.1f} | {floor['peak_mb']:.0f} | |",
        f"| `score` file->file (process start, artifact check, read, validate, predict, write) | {file['rows_per_s']:,.0f} | {file['seconds']:.1f} | {file['peak_mb']:.0f} | {vs_floor:.2f}x the floor (target >= 0.8x: {'met' if vs_floor >= 0.8 else f'missed by {0.8 - vs_floor:.2f}x'}) |",
        f"| `score` on a tenth of the rows | {tenth['rows_per_s']:,.0f} | {tenth['seconds']:.1f} | {tenth['peak_mb']:.0f} | memory grows {growth:+.0f} MB for 10x the rows |",
        f"| `score`, start-up excluded (the other nine tenths: difference of the two runs) | {marginal:,.0f} | | | {marginal / floor['rows_per_s']:.2f}x the floor |",
        f"| `score-spark` local[2] (JVM start included) | {spark['rows_per_s']:,.0f} | {spark['seconds']:.1f} | {spark['peak_mb']:.0f} (largest process) | file->file is {vs_file:.2f}x as fast (target <= 2x: {'met' if vs_file <= 2 else f'missed by {vs_file - 2:.2f}x'}) |",
        "",
    ]
    return "\n".join(lines)
