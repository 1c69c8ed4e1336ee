"""Medians of the runs, with min and max, and the Markdown tables docs/benchmarks.md quotes."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

# docs/benchmarks.md holds the tables of the last `make bench` between these two lines.
BEGIN, END = "<!-- make bench: begin -->", "<!-- make bench: end -->"

# The targets for the generated service (issue 16), on 1-row requests, against the competent
# FastAPI app (`fastapi`) measured in the same run.
TARGET_RPS, TARGET_RATIO, TARGET_CONCURRENCY = 1500, 3.0, 32  # req/s at c=32, at least both
TARGET_P50_MS = 3.0  # p50 at c=1, at most this and below FastAPI's


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for part in ("first_prediction_s", "ci_jobs_s"):
        per_run = [run[part] for run in runs if part in run]
        if per_run:
            summary[part] = {key: spread([r[key] for r in per_run]) for key in per_run[0]}
    if noop := [run["noop_repro_s"] for run in runs if "noop_repro_s" in run]:
        summary["noop_repro_s"] = spread(noop)
    if images := [run["image"] for run in runs if "image" in run]:
        summary["image"] = {key: spread([image[key] for image in images]) for key in images[0]}
    cells: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for run in runs:
        for row in run.get("serving", []):
            cells.setdefault((row["server"], row["concurrency"], row["rows"]), []).append(row)
    if cells:
        summary["serving"] = [
            {"server": server, "concurrency": c, "rows": rows}
            | {key: spread([r[key] for r in found]) for key in ("rps", "p50_ms", "p95_ms", "p99_ms")}
            | {
                "errors": sum(sum(r["errors"].values()) + r["requests"] - r.get("ok", r["requests"]) for r in found),
                "peak_rss_mb": max((r["rss_mb"]["peak"] for r in found if "rss_mb" in r), default=None),
                "server_cpu_ms_per_request": statistics.median(
                    [r["server_cpu_ms_per_request"] for r in found if "server_cpu_ms_per_request" in r] or [0.0]
                ),
            }
            for (server, c, rows), found in cells.items()
        ]
        summary["targets"] = targets(summary["serving"])
    return summary


def targets(serving: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cell = {(s["server"], s["concurrency"], s["rows"]): s for s in serving}
    found: list[dict[str, Any]] = []
    bento, plain = cell.get(("bento", TARGET_CONCURRENCY, 1)), cell.get(("fastapi", TARGET_CONCURRENCY, 1))
    if bento:
        b = bento["rps"]["median"]
        found.append({"target": f"c={TARGET_CONCURRENCY}, 1 row: at least {TARGET_RPS} req/s", "bento": f"{b:.0f} req/s",
                      "fastapi": "", "ratio": f"{b - TARGET_RPS:+.0f} req/s", "met": b >= TARGET_RPS})  # fmt: skip
    if bento and plain:
        b, f = bento["rps"]["median"], plain["rps"]["median"]
        found.append({"target": f"c={TARGET_CONCURRENCY}, 1 row: at least {TARGET_RATIO:g}x FastAPI", "bento": f"{b:.0f} req/s",
                      "fastapi": f"{f:.0f} req/s", "ratio": f"x{b / f:.2f}", "met": b >= TARGET_RATIO * f})  # fmt: skip
    bento, plain = cell.get(("bento", 1, 1)), cell.get(("fastapi", 1, 1))
    if bento:
        b = bento["p50_ms"]["median"]
        found.append({"target": f"c=1, 1 row: p50 at most {TARGET_P50_MS:g} ms", "bento": f"{b:.2f} ms", "fastapi": "",
                      "ratio": f"{b - TARGET_P50_MS:+.2f} ms", "met": b <= TARGET_P50_MS})  # fmt: skip
    if bento and plain:
        b, f = bento["p50_ms"]["median"], plain["p50_ms"]["median"]
        found.append({"target": "c=1, 1 row: p50 below FastAPI's", "bento": f"{b:.2f} ms", "fastapi": f"{f:.2f} ms",
                      "ratio": f"{b - f:+.2f} ms", "met": b < f})  # fmt: skip
    return found


def fmt(s: dict[str, float], digits: int = 1) -> str:
    return f"{s['median']:.{digits}f} [{s['min']:.{digits}f}, {s['max']:.{digits}f}]"


def markdown(results: dict[str, Any]) -> str:
    m, summary = results["machine"], results["summary"]
    lines = [
        "# Lastmile benchmark",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}; "
        f"template {m['template_commit']}; {m['date']}.",
        f"Each figure: median of {results['runs']} run(s), [min, max]. "
        + ("All runs on one baked project." if results.get("one_project") else "Each run bakes its own project."),
        "",
    ]
    if first := summary.get("first_prediction_s"):
        lines += ["## Time to first served prediction (s)", "", "| step | seconds |", "|---|---|"]
        lines += [f"| {step} | {fmt(s)} |" for step, s in first.items()] + [""]
    if noop := summary.get("noop_repro_s"):
        lines += [f"No-op `make repro` (`dvc repro` with nothing to do): {fmt(noop, 2)} s.", ""]
    if serving := summary.get("serving"):
        lines += [
            f"## Serving ({results['load_seconds']:g} s of load per cell, from a separate process on 127.0.0.1)",
            "",
            "| rows | concurrency | server | req/s | rows/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/req | peak RSS MiB |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        order = {"in-process": 0, "bento": 1, "bento-logged": 1.5, "fastapi": 2, "fastapi-naive": 3,
                 "noop-bento": 4, "noop-starlette": 5}  # fmt: skip
        for s in sorted(serving, key=lambda s: (s["rows"], s["concurrency"], order.get(s["server"], 9))):
            rss = "" if s["peak_rss_mb"] is None else f"{s['peak_rss_mb']:.0f}"
            cpu = f"{s['server_cpu_ms_per_request']:.1f}" if s["server_cpu_ms_per_request"] else ""
            lines.append(
                f"| {s['rows']} | {s['concurrency']} | {s['server']} | {fmt(s['rps'], 0)} | "
                f"{s['rps']['median'] * s['rows']:.0f} | {fmt(s['p50_ms'])} | {fmt(s['p95_ms'])} | "
                f"{fmt(s['p99_ms'])} | {s['errors']} | {cpu} | {rss} |"
            )
        lines += ["", "In-process is the floor: `predictions()` called in a loop, one process, no HTTP. `fastapi`: gunicorn,",
                  "a uvicorn worker per core, OMP_NUM_THREADS=1, a sync endpoint; `fastapi-naive`: one uvicorn process,",
                  "FastAPI's defaults. `noop-*`: the ceilings, no model (benchmarks/noop_apps.py, noop_bento.py). Server",
                  "CPU: the CPU time of the server's whole process tree per request answered, steadier than latency on",
                  "a shared machine.", ""]  # fmt: skip
        loads = [r["load_average"] for run in results["per_run"] for r in run.get("serving", []) if "load_average" in r]
        if loads:
            lines += [f"1-minute load average during the serving cells: {min(loads):.1f} to {max(loads):.1f}.", ""]
        lines += ["### Targets", "", "| target | Bento | FastAPI | difference | met |", "|---|---|---|---|---|"]
        lines += [f"| {t['target']} | {t['bento']} | {t['fastapi']} | {t['ratio']} | {'yes' if t['met'] else 'NO'} |"
                  for t in summary["targets"]] + [""]  # fmt: skip
    if image := summary.get("image"):
        lines += ["## The serving image (`make image` on a Debian base; MB = 10^6 bytes, `podman image inspect`)", "",
                  "| measure | value |", "|---|---|", f"| image, MB | {fmt(image['size_mb'], 0)} |",
                  f"| of which the base image (bookworm minbase, python3, python3-venv), MB | {fmt(image['base_mb'], 0)} |",
                  f"| `make image` (wheelhouse + offline build), s | {fmt(image['make_image_s'])} |", ""]  # fmt: skip
    if ci := summary.get("ci_jobs_s"):
        lines += ["## Generated ci.yml, wall time per job (s)", "", "| job | seconds |", "|---|---|"]
        lines += [f"| {job} | {fmt(s)} |" for job, s in ci.items()] + [""]
    return "\n".join(lines)


def write_into(page: Path, tables: str) -> None:
    """Replace what lies between BEGIN and END on `page` with `tables` (their headings two levels down,
    under the page's own section)."""
    text = page.read_text()
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise SystemExit(f"bench: {page} lacks the lines {BEGIN!r} and {END!r} around its generated tables")
    body = "\n".join("##" + line if line.startswith("#") else line for line in tables.splitlines())
    head, rest = text.split(BEGIN)
    page.write_text(f"{head}{BEGIN}\n{body}\n{END}{rest.split(END, 1)[1]}")
