"""`make bench`: time to first served prediction, serving side by side, CI stage times, no-op `dvc repro`, batch scoring,
the serving image's size.

Each run bakes a fresh project into a temporary folder and measures everything on it; the report gives
the median of the runs with their min and max. Writes build/bench/results.json and results.md.

    python -m benchmarks [--runs 3] [--seconds 8] [--parts first,noop,serving,ci,batch,image] [--out build/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests import containers, projects

from . import batch, ci_stages, image, project, report, serving

PARTS = ("first", "noop", "serving", "ci", "batch", "image")
MEASURES_A_PROJECT = {"serving", "noop", "batch", "image"}  # what --project allows


def arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3, help="independent runs, each on its own bake (default 3)")
    p.add_argument("--seconds", type=float, default=8.0, help="length of each load run (default 8)")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--out", type=Path, default=Path("build/bench"), help="folder for results.json and results.md")
    p.add_argument("--keep", action="store_true", help="keep the baked projects (printed at the end)")
    p.add_argument(
        "--servers", default=",".join(serving.SERVERS), help="comma-separated servers to load (default: all)"
    )
    p.add_argument("--batch-rows", type=int, default=1_000_000, help="rows of the batch part's file")
    p.add_argument(
        "--project", type=Path, help="measure this baked, built project instead (serving, noop, batch and image only)"
    )
    p.add_argument("--doc", type=Path, default=Path("docs/benchmarks.md"),
                   help="the page whose generated section gets this run's tables ('' for none)")  # fmt: skip
    args = p.parse_args()
    args.doc = args.doc if str(args.doc) not in {"", "."} else None
    args.parts = tuple(part for part in args.parts.split(",") if part)
    args.servers = tuple(server for server in args.servers.split(",") if server)
    if unknown := set(args.servers) - set(serving.SERVERS) - set(serving.OPTIONAL_SERVERS):
        known = ", ".join((*serving.SERVERS, *serving.OPTIONAL_SERVERS))
        p.error(f"unknown server(s) {sorted(unknown)}; choose from {known}")
    if unknown := set(args.parts) - set(PARTS):
        p.error(f"unknown part(s) {sorted(unknown)}; choose from {', '.join(PARTS)}")
    if args.project and set(args.parts) - MEASURES_A_PROJECT:
        p.error(f"--project measures an existing project: give --parts among {', '.join(sorted(MEASURES_A_PROJECT))}")
    if "image" in args.parts and (missing := containers.missing_tools()):
        p.error(f"the image part needs {', '.join(missing)} (.ci/system-packages installs them)")
    if args.runs < 1 or args.seconds <= 0:
        p.error("--runs and --seconds must be positive")
    return args


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def machine() -> dict[str, object]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "template_commit": commit + ("+changes" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def main() -> None:
    args = arguments()
    results: dict[str, object] = {"machine": machine(), "runs": args.runs, "load_seconds": args.seconds}
    results["one_project"] = bool(args.project)
    runs: list[dict[str, object]] = []
    work = Path(tempfile.mkdtemp(prefix="lastmile-bench-"))
    podman = image.engine(work / "podman") if "image" in args.parts else {}
    for index in range(args.runs):
        print(f"bench: run {index + 1} of {args.runs} in {work}/run-{index}", flush=True)
        run: dict[str, object] = {}
        if args.project:
            baked = project.Project(args.project.resolve(), projects.isolated_env(args.project.resolve().parent))
        else:
            baked = project.to_first_prediction(work / f"run-{index}")
        if "first" in args.parts:
            run["first_prediction_s"] = baked.steps
            print(
                f"bench:   first prediction {json.dumps({k: round(v, 1) for k, v in baked.steps.items()})}", flush=True
            )
        if "noop" in args.parts:
            run["noop_repro_s"] = project.noop_repro(baked)
        if "serving" in args.parts:
            run["serving"] = serving.measure(baked, args.seconds, args.servers)
        if "ci" in args.parts:
            projects.commit_trained(baked.path, baked.env)
            run["ci_jobs_s"] = ci_stages.measure(baked, f"bench-{index}")
        if "batch" in args.parts:
            run["batch"] = batch.measure(baked, args.batch_rows)
        if "image" in args.parts:
            run["image"] = measured = image.measure(baked, podman)
            print(f"bench:   image {measured['size_mb']:.0f} MB (podman image inspect)", flush=True)
        runs.append(run)
        if not args.keep:
            shutil.rmtree(work / f"run-{index}", ignore_errors=True)
    results["per_run"] = runs
    results["summary"] = report.summarize(runs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    batch_tables = "".join("\n" + batch.markdown(run["batch"]) for run in runs if "batch" in run)  # type: ignore[arg-type]
    (args.out / "results.md").write_text(report.markdown(results) + batch_tables)
    print((args.out / "results.md").read_text())
    if args.doc:
        report.write_into(args.doc, report.markdown(results) + batch_tables)
        print(f"bench: the tables in {args.doc} are this run's")
    print(
        f"bench: wrote {args.out / 'results.json'} and {args.out / 'results.md'}"
        + (f"; projects in {work}" if args.keep else "")
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
