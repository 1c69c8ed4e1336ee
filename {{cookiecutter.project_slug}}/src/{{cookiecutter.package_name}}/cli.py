"""One entry point for every step: `python -m <package> <command>`, or the project's script of the same name.

Thin by design: each command names the function that does its work ("module:function", imported only
when the command runs, so `serve` never loads MLflow or DVC) and passes it the parsed arguments as
keywords. A function returns its exit status (None is 0); a ReleaseError becomes one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from .contract.names import DEFAULT_BRANCH, SERVICE_NAME
from .pipeline.outputs import MODELS
from .release.deploy.targets import TARGETS
from .release.environments import ENVIRONMENTS
from .release.errors import ReleaseError
from .serving.server import ServerError
from .serving.store import use_project_home

MODELS_HELP = "folder of the artifact and its lineage record"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=SERVICE_NAME, description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="command")

    def command(
        name: str, function: str, help: str, parent: argparse._SubParsersAction = sub
    ) -> argparse.ArgumentParser:
        sp = parent.add_parser(name, help=help, description=help)
        sp.set_defaults(function=function)
        return sp

    def environment(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("environment", choices=ENVIRONMENTS)

    def no_push(sp: argparse.ArgumentParser, what: str) -> None:
        sp.add_argument("--no-push", action="store_true", help=f"{what}, but do not push")

    # The pipeline stages of dvc.yaml.
    sp = command("prepare", "pipeline.prepare:main", "Split the raw data into training and held-out sets.")
    sp.add_argument("--raw", type=Path, help="raw CSV file (default: raw_data in contract/dataset.yaml)")
    sp.add_argument("--out", type=Path, required=True, help="folder for train.csv and test.csv")

    sp = command("validate", "pipeline.validate:main", "Check data against the schema and the quality rules.")
    sp.add_argument("--data", type=Path, required=True, help="a CSV file or a folder of them")
    sp.add_argument("--report", type=Path, help="where to write the JSON report")

    sp = command("train", "pipeline.train:main", "Fit the model and log the run to MLflow.")
    sp.add_argument("--data", type=Path, required=True, help="folder holding train.csv")
    sp.add_argument("--model", type=Path, required=True, help="where to write the model artifact")
    sp.add_argument("--run", type=Path, required=True, help="where to write the MLflow run id")
    sp.add_argument("--profile", type=Path, required=True, help="where to write the training data profile")

    sp = command("evaluate", "pipeline.evaluate:main", "Score the held-out data and apply the quality gate.")
    sp.add_argument("--model", type=Path, required=True, help="the model artifact")
    sp.add_argument("--data", type=Path, required=True, help="held-out CSV file")
    sp.add_argument("--run", type=Path, required=True, help="the MLflow run id file from `train`")
    sp.add_argument("--metrics", type=Path, required=True, help="where to write the metrics")
    sp.add_argument("--gates", type=Path, required=True, help="where to write the gate results")
    sp.add_argument("--plots", type=Path, required=True, help="folder for the plot tables")

    sp = command("package", "pipeline.package:main", "Derive and check the fast predictor; write the lineage record.")
    sp.add_argument("--model", type=Path, required=True, help="the model artifact")
    sp.add_argument("--run", type=Path, required=True, help="the MLflow run id file from `train`")
    sp.add_argument("--metrics", type=Path, required=True, help="the metrics from `evaluate`")
    sp.add_argument("--lineage", type=Path, required=True, help="where to write the lineage record")
    sp.add_argument("--data", type=Path, required=True, help="held-out CSV file: the fast path is checked on it")
    sp.add_argument("--fast-path", type=Path, required=True, help="where to write the fast predictor")

    sp = command("adopt", "pipeline.adopt:main", "Make a CSV or Parquet file the data this repository learns from.")
    sp.add_argument("data", type=Path, help="the table (.csv or .parquet)")
    sp.add_argument("--target", required=True, help="the column to predict")
    sp.add_argument("--task", choices=("binary", "multiclass", "regression"), help="default: inferred from the target")
    sp.add_argument(
        "--sensitive", default="", help="comma-separated columns of personal data (kept from the old contract too)"
    )

    # Serving.
    sp = command("build", "serving.bento:main", "Build the Bento from the packaged model (offline).")
    sp.add_argument("--models", type=Path, default=MODELS, help=MODELS_HELP)
    sp.add_argument("--shadow", type=Path, help="pack this model folder as the shadow challenger (docs/monitoring.md)")
    sp = command("serve", "serving.server:serve", "Serve the built Bento over HTTP.")
    sp.add_argument("--models", type=Path, default=MODELS, help=MODELS_HELP)
    sp.add_argument("--port", type=int, default=3000, help="TCP port")
    sp.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    sp = command("smoke", "serving.smoke:main", "Serve the built Bento on 127.0.0.1, send one prediction, stop it.")
    sp.add_argument("--models", type=Path, default=MODELS, help=MODELS_HELP)
    sp.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")

    sp = command(
        "image", "release.deploy.image:main", "Build the built Bento's OCI image with no package index reachable."
    )
    sp.add_argument("--bento-tag", help="a Bento in the store (default: the one models/lineage.json names)")
    sp.add_argument("--base-image", help="an image with Python and its venv module (default: the Containerfile's)")
    sp.add_argument("--registry", help="push the image there (host[:port][/path]) and print it by digest")
    sp.add_argument("--environment", choices=ENVIRONMENTS, help="build the image of this environment's pin instead")

    def rendering(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--environment", choices=ENVIRONMENTS, required=True)
        sp.add_argument("--image", required=True, help="the environment's image by digest (<repository>@sha256:…)")

    rendering(
        command("manifests", "release.deploy.manifests:write", "Render deploy/k8s/<env>/ by the image's digest here.")
    )
    sp = command("commit-manifests", "release.deploy.manifests:commit", "Commit deploy/k8s/<env>/ by a pushed digest.")
    rendering(sp)
    sp.add_argument("--no-push", action="store_true", help="commit on HEAD here instead (no origin is asked)")
    sp = command("check-manifests", "release.deploy.check_manifests:check", "Check deploy/k8s/ as deploys rendered it.")
    sp.add_argument("--kubernetes-version", help="the schemas' Kubernetes version (default: kubernetes-validate's)")

    # Batch scoring: files in, files out (batch/; release/promotion/batch_model.py picks the pinned model).
    def scoring(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("input", type=Path, help="the rows to score: .csv or .parquet")
        sp.add_argument("output", type=Path, help="where the answers go, in the format its suffix names")
        sp.add_argument(
            "--rejected", type=Path, help="where refused rows go with their reasons (default: beside OUTPUT)"
        )
        sp.add_argument("--models", type=Path, default=MODELS, help=MODELS_HELP)
        sp.add_argument("--env", choices=ENVIRONMENTS, help="score with the model pinned there (fetched through DVC)")

    sp = command(
        "score", "release.promotion.batch_model:score_command", "Score a CSV or Parquet file into another, in chunks."
    )
    scoring(sp)
    sp.add_argument(
        "--chunk-rows", type=int, help="rows read at a time, so memory stays flat (default: batch/score.py)"
    )
    sp = command(
        "score-spark", "release.promotion.batch_model:score_spark_command", "Score a Parquet file or folder on Spark."
    )
    scoring(sp)
    sp.add_argument("--master", help="Spark master URL (default: local[*], or spark-submit's --master)")
    # Monitoring: the request log the service writes, against training and evaluation.
    sp = command("monitor", "monitoring.monitor:main", "Check a window of served traffic for drift and decay.")
    sp.add_argument("--log", type=Path, help="the request log's folder (default: monitor.log in params.yaml)")
    sp.add_argument("--since", help="start of the window, ISO 8601 (default: monitor.window_hours before --until)")
    sp.add_argument("--until", help="end of the window, ISO 8601 (default: now)")
    sp.add_argument("--labels", type=Path, help="CSV of request_id, the target and (for batches) row")
    sp.add_argument("--output", type=Path, default=Path("build/monitor"), help="folder for report.md and plots")
    sp = command(
        "compare-shadow", "monitoring.compare_shadow:main", "Compare the shadow challenger with the served model."
    )
    sp.add_argument("--log", type=Path, help="the request log's folder (default: monitor.log in params.yaml)")
    sp.add_argument("--labels", type=Path, help="CSV of request_id, the target and (for batches) row")
    sp.add_argument("--since", help="start of the window, ISO 8601 (default: the whole log)")
    sp.add_argument("--until", help="end of the window, ISO 8601 (default: now)")
    sp.add_argument("--output", type=Path, default=Path("build/shadow.md"), help="the Markdown report")

    sp = command(
        "propose-retraining",
        "release.promotion.retraining:main",
        "After a failed monitor: one retraining pull request (new labelled data) or one issue.",
    )
    sp.add_argument("--monitor", type=Path, default=Path("build/monitor"), help="the monitor's report folder")
    sp.add_argument("--data", help="URL of the latest labelled table (a path, s3://, gs://, azure://)")

    # Release: reports, pins, promotion, deploy, audit.
    sp = command(
        "report",
        "release.promotion.report:main",
        "Write the pull-request report: the model against production and the base.",
    )
    sp.add_argument("--output", type=Path, required=True, help="Markdown file to write")
    sp.add_argument(
        "--base", help=f"git revision (default: origin/$GITHUB_BASE_REF in a PR's CI run, else {DEFAULT_BRANCH})"
    )
    sp = command(
        "remote", "release.adapters.storage:configure", "Keep DVC's data and models in URL: configure, push, commit."
    )
    sp.add_argument("url", help="s3://bucket/prefix, gs://bucket/prefix, azure://container/prefix, or a folder")
    sp.add_argument("--endpoint", help="an S3-compatible server's URL (MinIO, Ceph, …); written to .dvc/config")
    command(
        "check-remote",
        "release.adapters.storage:check",
        "Check that this machine can use the DVC remote, or say why not.",
    )
    command(
        "data",
        "release.adapters.storage:pull",
        "Fetch the data and outputs this commit names; name any raw file missing.",
    )
    command(
        "register",
        "release.adapters.registry:register_command",
        "Register this commit's model in the MLflow registry (once).",
    )
    command(
        "github-setup",
        "release.adapters.github_settings:main",
        "Make the gates binding on GitHub (gh api), or print how.",
    )
    command("environments", "release.environments:main", "Print the environments, in promotion order.")
    command("check-pins", "release.promotion.pins:check_all", "Validate every pin file in deploy/environments/.")
    sp = command(
        "pin-source",
        "release.promotion.pins:print_source",
        "Print the commit that records the model pinned in an environment.",
    )
    environment(sp)
    sp = command(
        "reviews",
        "release.deploy.rollout:print_reviews",
        "Print the PR that last changed a pin and its reviews (JSON).",
    )
    environment(sp)
    sp = command(
        "comment",
        "release.adapters.github:comment",
        "Post or update this pull request's comment that starts with MARKER.",
    )
    sp.add_argument("--marker", required=True, help="a name; the comment starts with <!-- name -->")
    sp.add_argument("--body", type=Path, required=True, help="Markdown file")
    sp = command(
        "promote",
        "release.promotion.proposals:promote_command",
        "Open a pull request that pins the candidate (or --version) in an environment.",
    )
    environment(sp)
    sp.add_argument("--version", help="a model version recorded on the default branch (default: this commit's model)")
    no_push(sp, "commit the branch")
    sp = command(
        "rollback",
        "release.promotion.proposals:rollback_command",
        "Open a pull request that restores the environment's previous pin.",
    )
    environment(sp)
    no_push(sp, "commit the branch")
    sp = command("gate", "release.promotion.gates:main", "Run the promotion gates on a pull request's pin change.")
    sp.add_argument(
        "--base",
        help="the pull request's base revision (default: origin/$GITHUB_BASE_REF in CI, else the default branch)",
    )
    sp.add_argument(
        "--pull-request", type=int, help="judge this pull request's merge commit, fetched from origin (default: HEAD)"
    )
    sp.add_argument("--output", type=Path, default=Path("build/promotion.md"), help="Markdown report")
    sp = command(
        "deploy", "release.deploy.rollout:main", "Deploy what the pin says, check /metadata, record the deploy."
    )
    environment(sp)
    sp.add_argument("--target", choices=TARGETS, default="local")
    sp.add_argument(
        "--reviews", type=Path, help="`make reviews` output, or the PR's reviews as GitHub's API lists them (JSON)"
    )
    no_push(sp, "record the tag and the note locally")
    sp = command(
        "undeploy",
        "release.deploy.targets:undeploy",
        "Stop what a local or container deploy serves for an environment.",
    )
    environment(sp)
    command(
        "pending",
        "release.deploy.rollout:print_pending",
        "Print each environment whose pin differs from its last deploy record.",
    )
    command(
        "push-records", "release.deploy.rollout:push_records", "Push the deploy tags and notes made here (no force)."
    )

    sp = sub.add_parser("audit", help="Read the promotion history from git: history, at <time>, verify.")
    audits = sp.add_subparsers(dest="audit", required=True, metavar="audit")
    history = command("history", "release.audit:history_command", "every promotion and rollback", audits)
    history.add_argument("--env", choices=ENVIRONMENTS)
    instant = command("at", "release.audit:at_command", "the record in force at an instant", audits)
    instant.add_argument("time", help="ISO 8601 with a zone, e.g. 2026-11-22T10:00:00+00:00")
    instant.add_argument("--env", choices=ENVIRONMENTS, required=True)
    verify = command(
        "verify", "release.audit:verify_command", "check every pin change against the promotion rules", audits
    )
    for audit_parser in (history, instant, verify):
        audit_parser.add_argument("--json", dest="as_json", action="store_true", help="JSON instead of Markdown")
    return p


def main(argv: list[str] | None = None) -> None:
    args = vars(parser().parse_args(argv))
    use_project_home()
    module, name = args.pop("function").split(":")
    command = args.pop("command")
    args.pop("audit", None)
    function = getattr(importlib.import_module(f".{module}", __package__), name)
    try:
        status = function(**args)
    except (ReleaseError, ServerError) as error:
        print(f"{command}: {error}", file=sys.stderr)
        status = 1
    sys.exit(status or 0)
