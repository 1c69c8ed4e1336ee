"""One entry point for every step: `python -m {{ cookiecutter.package_name }} <command>` or `{{ cookiecutter.project_slug }} <command>`.

The pipeline stages of dvc.yaml, the Bento build and serving all start here. Each command imports
only what it needs, so `serve` never loads MLflow or DVC.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .settings import ARTIFACT_FILE, DEFAULT_BRANCH, LINEAGE_FILE, use_project_bentoml_home

MODELS = Path("models")


def cmd_prepare(args: argparse.Namespace) -> int:
    from . import params
    from .data import prepare

    prepare(raw=args.raw, out=args.out, **params.load("prepare"))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from . import params
    from .quality import validate

    files = sorted(args.data.glob("*.csv")) if args.data.is_dir() else [args.data]
    if not files:
        print(f"error: no CSV files in {args.data}", file=sys.stderr)
        return 1
    return 0 if validate(files, params.load("validate"), args.report) else 1


def cmd_train(args: argparse.Namespace) -> int:
    from . import params
    from .train import train

    train(
        data=args.data,
        model_path=args.model,
        run_path=args.run,
        profile_path=args.profile,
        params=params.load("train"),
        bins=params.load("drift")["bins"],
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import joblib

    from . import params, tracking
    from .evaluate import evaluate

    values, passed = evaluate(
        model=joblib.load(args.model),
        test=args.data,
        metrics_path=args.metrics,
        gates_path=args.gates,
        plots=args.plots,
        thresholds=params.load("evaluate"),
    )
    tracking.log_metrics(json.loads(args.run.read_text())["run_id"], values)
    if not passed:
        print("evaluate: the model fails the quality gate of params.yaml; it is not packaged.", file=sys.stderr)
    return 0 if passed else 1


def cmd_package(args: argparse.Namespace) -> int:
    from .package import package

    package(model_path=args.model, run_path=args.run, metrics_path=args.metrics, lineage_path=args.lineage)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from .bento import build

    build(args.models)
    return 0


def _bento_tag(models: Path) -> str:
    from .lineage import read

    path = models / LINEAGE_FILE
    if not path.exists():
        raise SystemExit(f"error: {path} not found; run `make repro` (or `make data`) first.")
    return str(read(path)["bento_tag"])


def cmd_serve(args: argparse.Namespace) -> int:
    from . import server

    tag = _bento_tag(args.models)
    server.check_config()  # a bare `bentoml serve` answers a broken config file with a traceback
    os.execvp(sys.executable, server.command(tag, args.port, args.host))


def cmd_smoke(args: argparse.Namespace) -> int:
    from . import server
    from .schema import EXAMPLE_FEATURES

    port = args.port or server.free_port()
    url = f"http://127.0.0.1:{port}"
    process = server.start(_bento_tag(args.models), port)
    try:
        server.wait_ready(process, url)
        body = json.dumps({"records": [EXAMPLE_FEATURES]}).encode()
        request = urllib.request.Request(f"{url}/predict", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            print(f"smoke: POST {url}/predict -> {response.status} {response.read().decode()}")
    finally:
        server.stop(process)
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from . import loadgen
    from .schema import EXAMPLE_FEATURES

    if args.rows < 1 or args.concurrency < 1 or args.requests < 1 or args.duration <= 0 or (args.rate or 1) <= 0:
        raise SystemExit("error: --rows, --concurrency, --requests, --duration and --rate must be positive")
    body = json.dumps({"records": [EXAMPLE_FEATURES] * args.rows}).encode()
    options = {k: getattr(args, k) for k in ("concurrency", "requests", "duration", "rate", "watch_pid")}
    print(json.dumps(loadgen.load(args.url, body, **options)))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import build

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(build(args.base))
    print(f"report: {args.output}")
    return 0


def cmd_check_pins(args: argparse.Namespace) -> int:
    from . import pins

    failed = 0
    for environment in pins.ENVIRONMENTS:
        try:
            pin = pins.read(environment)
        except pins.PinError as error:
            print(f"error: {error}", file=sys.stderr)
            failed += 1
            continue
        print(
            f"check-pins: {environment}: {'nothing pinned' if pin is None else f'version {pin.model.registry_version}'}"
        )
    return 1 if failed else 0


def cmd_pin_source(args: argparse.Namespace) -> int:
    from . import pins

    pin = pins.read(args.environment)
    if pin is None:
        raise SystemExit(f"error: nothing is pinned in {args.environment}")
    print(pin.source_commit)
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from .promotion import PromotionError, promote

    try:
        print(promote(args.environment, args.version, push=not args.no_push))
    except PromotionError as error:
        print(f"promote: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from .promotion import PromotionError, rollback

    try:
        print(rollback(args.environment, push=not args.no_push))
    except PromotionError as error:
        print(f"rollback: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    """The promotion gates of a pull request: exactly one pin changed against the base, and it passes."""
    from . import gitops, pins
    from .promotion import PromotionError, evaluate_pin, gates, report

    changed = gitops.git("diff", "--name-only", f"{args.base}...HEAD", "--", str(pins.PINS)).split()
    if len(changed) != 1:
        print(f"gate: a promotion changes exactly one pin file; this one changes {changed or 'none'}", file=sys.stderr)
        return 1
    environment = Path(changed[0]).stem
    try:
        pin = pins.read(environment)
        assert pin is not None, f"{changed[0]} was deleted"
        evaluation, _ = evaluate_pin(pin.model, pin.source_commit)
        checks = gates(pin.model_copy(update={"evaluation": evaluation}))
    except (pins.PinError, PromotionError, AssertionError) as error:
        print(f"gate: {error}", file=sys.stderr)
        return 1
    text = report(pin, checks)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    return 0 if all(c.passed for c in checks) else 1


def cmd_deploy(args: argparse.Namespace) -> int:
    from .deploy import deploy
    from .promotion import PromotionError

    try:
        record = deploy(args.environment, args.target, args.reviews, push=not args.no_push)
    except PromotionError as error:
        print(f"deploy: {error}", file=sys.stderr)
        return 1
    print(json.dumps(record, indent=2))
    return 0


def cmd_undeploy(args: argparse.Namespace) -> int:
    from .deploy import stop

    stop(args.environment)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from datetime import datetime

    from . import audit

    if args.audit == "history":
        entries = audit.history(args.env)
        print(audit.as_json(entries) if args.json else audit.markdown(entries))
        return 0
    if args.audit == "at":
        instant = datetime.fromisoformat(args.time)
        if instant.tzinfo is None:
            raise SystemExit("error: give the time with its zone, e.g. 2026-11-22T10:00:00+00:00")
        found = audit.at(instant, args.env)
        if found is None:
            print(f"audit: nothing was pinned in {args.env} at {args.time}")
            return 1
        entry, pin = found
        print(audit.as_json({"entry": entry, "pin": pin}) if args.json else audit.markdown([entry]))
        return 0
    violations = audit.verify()
    if args.json:
        print(json.dumps({"passed": not violations, "violations": violations}, indent=2))
    else:
        print("audit verify: passed" if not violations else "\n".join(f"violation: {v}" for v in violations))
    return 1 if violations else 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="{{ cookiecutter.project_slug }}", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="command")

    def command(name: str, run: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(handler=run)
        return sp

    sp = command("prepare", cmd_prepare, "Split the raw data into training and held-out sets.")
    sp.add_argument("--raw", type=Path, required=True, help="raw CSV file")
    sp.add_argument("--out", type=Path, required=True, help="folder for train.csv and test.csv")

    sp = command("validate", cmd_validate, "Check data against the schema and the quality rules.")
    sp.add_argument("--data", type=Path, required=True, help="a CSV file or a folder of them")
    sp.add_argument("--report", type=Path, help="where to write the JSON report")

    sp = command("train", cmd_train, "Fit the model and log the run to MLflow.")
    sp.add_argument("--data", type=Path, required=True, help="folder holding train.csv")
    sp.add_argument("--model", type=Path, required=True, help="where to write the model artifact")
    sp.add_argument("--run", type=Path, required=True, help="where to write the MLflow run id")
    sp.add_argument("--profile", type=Path, required=True, help="where to write the training data profile")

    sp = command("evaluate", cmd_evaluate, "Score the held-out data and apply the quality gate.")
    sp.add_argument("--model", type=Path, required=True, help="the model artifact")
    sp.add_argument("--data", type=Path, required=True, help="held-out CSV file")
    sp.add_argument("--run", type=Path, required=True, help="the MLflow run id file from `train`")
    sp.add_argument("--metrics", type=Path, required=True, help="where to write the metrics")
    sp.add_argument("--gates", type=Path, required=True, help="where to write the gate results")
    sp.add_argument("--plots", type=Path, required=True, help="folder for the plot tables")

    sp = command("package", cmd_package, "Register the model in MLflow and write its lineage record.")
    sp.add_argument("--model", type=Path, required=True, help="the model artifact")
    sp.add_argument("--run", type=Path, required=True, help="the MLflow run id file from `train`")
    sp.add_argument("--metrics", type=Path, required=True, help="the metrics from `evaluate`")
    sp.add_argument("--lineage", type=Path, required=True, help="where to write the lineage record")

    sp = command("report", cmd_report, "Write the pull-request report: the model against production and the base.")
    sp.add_argument("--output", type=Path, required=True, help="Markdown file to write")
    # In a pull request's CI run the base branch is the remote's; locally it is the default branch.
    pr_base = os.environ.get("GITHUB_BASE_REF")
    sp.add_argument("--base", default=f"origin/{pr_base}" if pr_base else DEFAULT_BRANCH, help="git revision")

    command("check-pins", cmd_check_pins, "Validate every pin file in deploy/environments/.")
    environments = ("staging", "production")
    sp = command(
        "promote", cmd_promote, "Open a pull request that pins the candidate (or --version) in an environment."
    )
    sp.add_argument("environment", choices=environments)
    sp.add_argument(
        "--version", help="a registry version recorded on the default branch (default: this commit's model)"
    )
    sp.add_argument("--no-push", action="store_true", help="commit the branch but do not push it")
    sp = command("rollback", cmd_rollback, "Open a pull request that restores the environment's previous pin.")
    sp.add_argument("environment", choices=environments)
    sp.add_argument("--no-push", action="store_true", help="commit the branch but do not push it")
    sp = command("pin-source", cmd_pin_source, "Print the commit that records the model pinned in an environment.")
    sp.add_argument("environment", choices=environments)
    sp = command("gate", cmd_gate, "Run the promotion gates on a pull request's pin change.")
    sp.add_argument("--base", default=DEFAULT_BRANCH, help="the pull request's base revision")
    sp.add_argument("--output", type=Path, default=Path("build/promotion.md"), help="Markdown report")
    sp = command("deploy", cmd_deploy, "Deploy what the pin says, check /metadata, record the promotion.")
    sp.add_argument("environment", choices=environments)
    sp.add_argument("--target", choices=("local", "image"), default="local")
    sp.add_argument("--reviews", type=Path, help="the pull request's reviews, as GitHub's API lists them (JSON)")
    sp.add_argument("--no-push", action="store_true", help="record locally; do not push the tag and the note")
    sp = command("undeploy", cmd_undeploy, "Stop what the local target serves for an environment.")
    sp.add_argument("environment", choices=environments)
    sp = command("audit", cmd_audit, "Read the promotion history from git: history, at <time>, verify.")
    audits = sp.add_subparsers(dest="audit", required=True, metavar="audit")
    history = audits.add_parser("history", help="every promotion and rollback")
    history.add_argument("--env", choices=environments)
    instant = audits.add_parser("at", help="the record in force at an instant")
    instant.add_argument("time", help="ISO 8601 with a zone, e.g. 2026-11-22T10:00:00+00:00")
    instant.add_argument("--env", choices=environments, required=True)
    audits.add_parser("verify", help="check every pin change against the promotion rules")
    for audit_parser in (history, instant, audits.choices["verify"]):
        audit_parser.add_argument("--json", action="store_true", help="JSON instead of Markdown")

    models_help = f"folder of {ARTIFACT_FILE} and {LINEAGE_FILE}"
    sp = command("build", cmd_build, "Build the Bento from the packaged model (offline).")
    sp.add_argument("--models", type=Path, default=MODELS, help=models_help)
    sp = command("serve", cmd_serve, "Serve the built Bento over HTTP.")
    sp.add_argument("--models", type=Path, default=MODELS, help=models_help)
    sp.add_argument("--port", type=int, default=3000, help="TCP port")
    sp.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    sp = command("smoke", cmd_smoke, "Serve the built Bento on 127.0.0.1, send one prediction, stop it.")
    sp.add_argument("--models", type=Path, default=MODELS, help=models_help)
    sp.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    sp = command(
        "load", cmd_load, "Send a bounded HTTP load to a running service; print its latency and errors as JSON."
    )
    sp.add_argument("--url", required=True, help="the predict endpoint, e.g. http://127.0.0.1:3000/predict")
    sp.add_argument("--rows", type=int, default=1, help="records per request")
    sp.add_argument("--concurrency", type=int, default=8, help="open connections")
    sp.add_argument("--requests", type=int, default=10_000, help="stop after this many requests")
    sp.add_argument("--duration", type=float, default=30.0, help="or after this many seconds")
    sp.add_argument("--rate", type=float, help="requests per second in all (default: as fast as answered)")
    sp.add_argument("--watch-pid", type=int, help="sample the memory and CPU time of this process and its children")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    use_project_bentoml_home()
    sys.exit(args.handler(args))
