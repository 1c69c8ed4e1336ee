"""Medians of the runs, with min and max, and the Markdown tables docs/benchmarks.md quotes."""

from __future__ import annotations

import statistics
from typing import Any

# The targets for the generated service, against the plain FastAPI app in the same run.
THROUGHPUT_CONCURRENCY = 32  # the Bento's requests per second at least the FastAPI app's
LATENCY_CONCURRENCY, LATENCY_MARGIN_MS = 1, 2.0  # the Bento's p50 within 2 ms of the FastAPI app's


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
    found = []
    for rows in sorted({s["rows"] for s in serving}):
        bento, plain = (
            cell.get(("bento", THROUGHPUT_CONCURRENCY, rows)),
            cell.get(("fastapi", THROUGHPUT_CONCURRENCY, rows)),
        )
        if bento and plain:
            b, f = bento["rps"]["median"], plain["rps"]["median"]
            found.append({"target": f"throughput at c={THROUGHPUT_CONCURRENCY}, {rows} row(s): Bento ≥ FastAPI",
                          "bento": f"{b:.0f} req/s", "fastapi": f"{f:.0f} req/s", "ratio": f"x{b / f:.2f}", "met": b >= f})  # fmt: skip
        bento, plain = cell.get(("bento", LATENCY_CONCURRENCY, rows)), cell.get(("fastapi", LATENCY_CONCURRENCY, rows))
        if bento and plain:
            b, f = bento["p50_ms"]["median"], plain["p50_ms"]["median"]
            found.append({"target": f"p50 at c={LATENCY_CONCURRENCY}, {rows} row(s): Bento ≤ FastAPI + {LATENCY_MARGIN_MS:g} ms",
                          "bento": f"{b:.1f} ms", "fastapi": f"{f:.1f} ms", "ratio": f"{b - f:+.1f} ms",
                          "met": b <= f + LATENCY_MARGIN_MS})  # fmt: skip
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
        f"Each figure: median of {results['runs']} run(s), [min, max]. Each run bakes its own project.",
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
        order = {"in-process": 0, "bento": 1, "bento-logged": 1.5, "fastapi": 2}
        for s in sorted(serving, key=lambda s: (s["rows"], s["concurrency"], order.get(s["server"], 9))):
            rss = "" if s["peak_rss_mb"] is None else f"{s['peak_rss_mb']:.0f}"
            cpu = f"{s['server_cpu_ms_per_request']:.1f}" if s["server_cpu_ms_per_request"] else ""
            lines.append(
                f"| {s['rows']} | {s['concurrency']} | {s['server']} | {fmt(s['rps'], 0)} | "
                f"{s['rps']['median'] * s['rows']:.0f} | {fmt(s['p50_ms'])} | {fmt(s['p95_ms'])} | "
                f"{fmt(s['p99_ms'])} | {s['errors']} | {cpu} | {rss} |"
            )
        lines += ["", "In-process is the floor: `predictions()` called in a loop, one process, no HTTP. Server CPU: the",
                  "CPU time of the server's whole process tree per request answered, steadier than latency on a",
                  "shared machine.", ""]  # fmt: skip
        lines += ["### Targets", "", "| target | Bento | FastAPI | difference | met |", "|---|---|---|---|---|"]
        lines += [f"| {t['target']} | {t['bento']} | {t['fastapi']} | {t['ratio']} | {'yes' if t['met'] else 'NO'} |"
                  for t in summary["targets"]] + [""]  # fmt: skip
    if ci := summary.get("ci_jobs_s"):
        lines += ["## Generated ci.yml, wall time per job (s)", "", "| job | seconds |", "|---|---|"]
        lines += [f"| {job} | {fmt(s)} |" for job, s in ci.items()] + [""]
    return "\n".join(lines)
