"""What each part of the request path costs: the service served with one part changed at a time, side by side.

    python -m benchmarks.ablation --project <baked, built project> [--runs 3] [--seconds 5] [--only 1 2]

Each variant is the baked service.py with textual edits (checked: an edit that no longer applies is
an error, not a silent no-op), served from source with `bentoml serve <package>.serving.service:...`
(the same code a Bento runs, without a rebuild per variant) and loaded with wrk like `make bench`.
The variants run interleaved, round after round, and each figure is the median of the rounds: the
machine is shared, and a slow minute then spreads over all variants instead of hitting one. The
project's service.py is restored at the end. Writes build/bench/ablation.json and ablation.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests import projects, servers

from . import project, serving, wrk

SERVICE_ARGS = 'traffic={"timeout": REQUEST_TIMEOUT_S}'
ANSWER = 'PredictionService.add_asgi_middleware(Answer, path="/predict", handler=predict_body)'
WATCH = "PredictionService.add_asgi_middleware(Watch)"
OBSERVE = "        self.observe(rows, answers, started, request_id)"
BATCHED = "        answers = await self.batcher(rows)"
WORKERS = 'workers="cpu_count", '


def config(**settings: str) -> tuple[str, str]:
    """An edit adding BentoML service settings (a dict literal each) to @bentoml.service(...)."""
    return SERVICE_ARGS, SERVICE_ARGS + "".join(f", {k}={v}" for k, v in settings.items())


NO_ACCESS_LOG = config(logging='{"access": {"enabled": False}}')
NO_TRACING = config(tracing='{"excluded_urls": ["/predict"]}')
NO_METRICS = config(metrics='{"enabled": False}')  # also removes /metrics: measured, never shipped
# Each variant: (name, edits to the template's service.py); the template itself first.
VARIANTS: list[tuple[str, list[tuple[str, str]]]] = [
    ("template: /predict answered by route.py", []),
    ("BentoML's handler answers /predict (input/output models, context)", [(ANSWER, "pass")]),
    ("access log off (BentoML config)", [NO_ACCESS_LOG]),
    ("tracing middleware skips /predict (BentoML config)", [NO_TRACING]),
    ("BentoML's HTTP metrics off (loses /metrics)", [NO_METRICS]),
    ("no monitoring: no Watch middleware, no metrics or log per answer", [(WATCH, "pass"), (OBSERVE, "")]),
    ("predict inline: no batcher thread hop", [(BATCHED, "        answers = predictions(self.model, rows)")]),
    ("one worker (BentoML's default)", [(WORKERS, "")]),
]  # fmt: skip
CELLS = [(1, 1), (8, 1), (32, 1), (32, 64)]  # (concurrency, rows)


def edited(source: str, edits: list[tuple[str, str]]) -> str:
    for old, new in edits:
        if source.count(old) != 1:
            raise SystemExit(f"ablation: the edit {old.strip()[:60]!r} no longer applies to service.py")
        source = source.replace(old, new)
    return source


@contextmanager
def from_source(baked: project.Project) -> Iterator[tuple[str, int]]:
    """`bentoml serve` of the project's service module (the model from the project's BentoML store)."""
    port = servers.free_port()
    target = f"{project.PACKAGE}.serving.service:PredictionService"
    cmd = [baked.python, "-m", "bentoml", "serve", target, "--host", "127.0.0.1", "--port", str(port)]
    with serving.running(cmd, baked.path, baked.env, port) as served:
        yield served


def measure(
    baked: project.Project, runs: int, seconds: float, variants: list[tuple[str, list[tuple[str, str]]]] = VARIANTS
) -> list[dict[str, Any]]:
    service = baked.path / "src" / project.PACKAGE / "serving" / "service.py"
    original = service.read_text()
    for _, edits in variants:
        edited(original, edits)  # every edit applies, before any server starts
    found: dict[str, dict[tuple[int, int], list[dict[str, Any]]]] = {n: {c: [] for c in CELLS} for n, _ in variants}
    try:
        for round_ in range(runs):
            for name, edits in variants:
                service.write_text(edited(original, edits))
                with from_source(baked) as (url, pid):
                    serving.load(baked, url, pid, 8, 1, 3)  # warm-up
                    for concurrency, rows in CELLS:
                        found[name][(concurrency, rows)].append(
                            serving.load(baked, url, pid, concurrency, rows, seconds)
                        )
                print(f"ablation: round {round_ + 1}: {name}: done (load {wrk.load_average():.1f})", flush=True)
    finally:
        service.write_text(original)
    return [{"variant": n, "cells": {f"c{c}_r{r}": v for (c, r), v in found[n].items()}} for n, _ in variants]


def median(values: list[dict[str, Any]], key: str) -> float:
    return statistics.median(v[key] for v in values if key in v)


def markdown(results: list[dict[str, Any]], runs: int, seconds: float) -> str:
    loads = [v["load_average"] for r in results for cell in r["cells"].values() for v in cell]
    lines = [
        f"Median of {runs} interleaved round(s), {seconds:g} s of wrk per cell; 1-minute load average "
        f"{min(loads):.1f} to {max(loads):.1f} on {wrk.os.cpu_count()} cores. CPU: the server's CPU time per request.",
        "",
        "| variant | p50 ms, c=1 | CPU ms/req, c=1 | req/s, c=8 | req/s, c=32 | CPU ms/req, c=32 | req/s, c=32, 64 rows | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in results:
        c = r["cells"]
        errors = sum(sum(v["errors"].values()) + v["requests"] - v["ok"] for cell in c.values() for v in cell)
        lines.append(
            f"| {r['variant']} | {median(c['c1_r1'], 'p50_ms'):.2f} | {median(c['c1_r1'], 'server_cpu_ms_per_request'):.2f} | "
            f"{median(c['c8_r1'], 'rps'):.0f} | {median(c['c32_r1'], 'rps'):.0f} | "
            f"{median(c['c32_r1'], 'server_cpu_ms_per_request'):.2f} | {median(c['c32_r64'], 'rps'):.0f} | {errors} |"
        )  # fmt: skip
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
    wrk.require()
    baked = project.Project(path, projects.isolated_env(path.parent))
    chosen = [VARIANTS[i - 1] for i in args.only] if args.only else VARIANTS
    results = measure(baked, args.runs, args.seconds, chosen)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ablation.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "ablation.md").write_text(markdown(results, args.runs, args.seconds))
    print((args.out / "ablation.md").read_text())


if __name__ == "__main__":
    main()
