"""What each serving change did: the Bento served with one change undone at a time, measured side by side.

    python -m benchmarks.ablation --project <baked, built project> [--runs 3] [--seconds 5]

Each variant is the baked service.py with a textual edit (checked: an edit that no longer applies is
an error, not a silent no-op), rebuilt with `make build` and loaded like `make bench` loads the Bento.
The project's service.py is restored at the end. Writes build/bench/ablation.json and ablation.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from tests import projects

from . import project, serving

ASYNC_BATCHED = "    async def predict(self, records: Records) -> Annotated[list[Prediction], ContentType(JSON)]:\n        return await self.batcher("
SYNC_DIRECT = "    def predict(self, records: Records) -> Annotated[list[Prediction], ContentType(JSON)]:\n        return predictions(self.model, "
DECLARED = "-> Annotated[list[Prediction], ContentType(JSON)]:"
WORKERS = 'workers="cpu_count", '
API = "    @bentoml.api\n"
CORK = "    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH_ROWS, max_latency_ms=REQUEST_TIMEOUT_S * 1000)\n"
OMP_LIMIT = "initializer=partial(threadpoolctl.threadpool_limits, 1)"

# Each variant: (name, edits to the template's service.py); the template itself first.
VARIANTS: list[tuple[str, list[tuple[str, str]]]] = [
    ("template: a worker per core, own batching, declared media type", []),
    ("media type not declared (BentoML derives it per response)", [(DECLARED, "-> list[Prediction]:")]),
    ("no batching: one predict call per request", [(ASYNC_BATCHED, SYNC_DIRECT)]),
    ("BentoML adaptive batching instead of batching.py", [(ASYNC_BATCHED, SYNC_DIRECT), (API, CORK)]),
    ("one worker (BentoML's default), own batching", [(WORKERS, "")]),
    ("OpenMP threads not limited (scikit-learn's default: one per core, in each worker)", [(OMP_LIMIT, "initializer=None")]),
    ("before issue 5: one worker, no batching, media type not declared",
     [(WORKERS, ""), (ASYNC_BATCHED, SYNC_DIRECT), (DECLARED, "-> list[Prediction]:")]),
]  # fmt: skip
CELLS = [(1, 1), (1, 64), (32, 1), (32, 64)]  # (concurrency, rows)


def edited(source: str, edits: list[tuple[str, str]]) -> str:
    for old, new in edits:
        if source.count(old) != 1:
            raise SystemExit(f"ablation: the edit {old.strip()[:60]!r} no longer applies to service.py")
        source = source.replace(old, new)
    return source


def measure(
    baked: project.Project, runs: int, seconds: float, variants: list[tuple[str, list[tuple[str, str]]]] = VARIANTS
) -> list[dict[str, Any]]:
    service = baked.path / "src" / project.PACKAGE / "serving" / "service.py"
    original = service.read_text()
    results = []
    try:
        for name, edits in variants:
            service.write_text(edited(original, edits))
            baked.run("make", "build")
            found: dict[tuple[int, int], list[dict[str, Any]]] = {cell: [] for cell in CELLS}
            for _ in range(runs):
                with serving.serving("bento", baked) as (url, pid):
                    serving.load(baked, url, pid, 8, 1, 3)  # warm-up
                    for concurrency, rows in CELLS:
                        found[(concurrency, rows)].append(serving.load(baked, url, pid, concurrency, rows, seconds))
            results.append({"variant": name, "cells": {f"c{c}_r{r}": v for (c, r), v in found.items()}})
            print(f"ablation: {name}: done", flush=True)
    finally:
        service.write_text(original)
        baked.run("make", "build")
    return results


def median(values: list[dict[str, Any]], key: str) -> float:
    return statistics.median(v[key] for v in values if key in v)


def markdown(results: list[dict[str, Any]], runs: int, seconds: float) -> str:
    lines = [
        f"Median of {runs} run(s), {seconds:g} s of load per cell. CPU: the server's CPU time per request answered.",
        "",
        "| variant | p50 ms, c=1, 1 row | CPU ms/req, c=1 | req/s, c=32, 1 row | req/s, c=32, 64 rows | p50 ms, c=32, 1 row | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c = r["cells"]
        errors = sum(sum(v["errors"].values()) + v["requests"] - v["ok"] for cell in c.values() for v in cell)
        lines.append(
            f"| {r['variant']} | {median(c['c1_r1'], 'p50_ms'):.1f} | {median(c['c1_r1'], 'server_cpu_ms_per_request'):.1f} | "
            f"{median(c['c32_r1'], 'rps'):.0f} | {median(c['c32_r64'], 'rps'):.0f} | {median(c['c32_r1'], 'p50_ms'):.0f} | {errors} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ablation", description=__doc__.splitlines()[0])
    p.add_argument("--project", type=Path, required=True, help="a baked project, trained and built")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--out", type=Path, default=Path("build/bench"))
    p.add_argument("--only", type=int, nargs="+", help="the variants to run, by their row number (1 is the template)")
    args = p.parse_args()
    path = args.project.resolve()
    if args.only and not all(1 <= i <= len(VARIANTS) for i in args.only):
        p.error(f"--only takes variant numbers from 1 to {len(VARIANTS)}")
    if not (path / "models/lineage.json").exists():
        p.error(f"{path} is not a trained project (no models/lineage.json): bake it and run `make repro build`")
    baked = project.Project(path, projects.isolated_env(path.parent))
    chosen = [VARIANTS[i - 1] for i in args.only] if args.only else VARIANTS
    results = measure(baked, args.runs, args.seconds, chosen)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ablation.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "ablation.md").write_text(markdown(results, args.runs, args.seconds))
    print((args.out / "ablation.md").read_text())


if __name__ == "__main__":
    main()
