"""Reject bad answers before cookiecutter writes anything: one line per problem, then exit 1.

Cookiecutter renders this file, so the answers arrive as JSON; everything else is plain Python.
Cookiecutter removes the half-made project folder when this hook fails.
"""

from __future__ import annotations

import json
import keyword
import re
import shutil
import subprocess
import sys

ANSWERS: dict[str, str] = json.loads(r"""{{ cookiecutter | jsonify }}""")

# Cookiecutter itself refuses an unknown choice given on the command line, but not one in a replay
# file; python_version is free text. Check them all here, so every path gets the same message.
CHOICES = {
    "python_version": ("3.11", "3.12", "3.13"),
    "task": ("classification", "regression"),
    "dvc_remote": ("local", "s3", "gcs", "azure"),
    "license": ("MIT", "Apache-2.0", "BSD-3-Clause", "Proprietary"),
}
# Import names of the generated project's dependencies (and what its code imports through them): a package
# of the same name would shadow one. tests/test_answers.py checks every import of a bake is listed here or
# is in the standard library, which is refused too (sys.stdlib_module_names).
DEPENDENCIES = {
    "bentoml", "boto3", "botocore", "cruft", "dvc", "hypothesis", "joblib", "kubernetes_validate", "matplotlib", "mlflow", "mypy",
    "numpy", "pandas", "pandera", "pre_commit", "prometheus_client", "psutil", "pyarrow", "pydantic", "pyspark",
    "pytest", "pytest_benchmark", "ruff", "schemathesis", "scipy", "sklearn", "starlette", "threadpoolctl",
    "yaml", "tests", "test",
}  # fmt: skip
# Answers written into TOML, YAML and Python strings: any printable text is escaped where it lands;
# a control character (a newline from a replay file) is refused, since each is a one-line field.
FREE_TEXT = ("project_name", "description", "author_name")
SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z_][a-z0-9_]*$")
BUCKET_URL = {
    "s3": re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$"),
    "gcs": re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9](/[^\s]*)?$"),
    "azure": re.compile(r"^azure://[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9](/[^\s]*)?$"),
}
URL_EXAMPLE = {"s3": "s3://my-bucket/dvc", "gcs": "gs://my-bucket/dvc", "azure": "azure://my-container/dvc"}
TRACKING_SCHEMES = ("sqlite", "http", "https", "file", "postgresql", "mysql", "databricks")
CODEOWNER = re.compile(r"^(@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(/[A-Za-z0-9._-]+)?|[^@\s]+@[^@\s]+\.[a-z]{2,})$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def check_choices(a: dict[str, str]) -> list[str]:
    return [
        f"{key}: {a[key]!r} is not one of {', '.join(allowed)}; answer one of those."
        for key, allowed in CHOICES.items()
        if a[key] not in allowed
    ]


def check_names(a: dict[str, str]) -> list[str]:
    errors = []
    if not a["project_name"].strip():
        errors.append("project_name: is empty; give the project a name.")
    slug = a["project_slug"]
    if slug != slug.lower():
        errors.append(f"project_slug: {slug!r} has upper case; use {slug.lower()!r}.")
    elif not SLUG.match(slug):
        errors.append(
            f"project_slug: {slug!r} must be lower-case letters and digits joined by single hyphens, starting with a letter, e.g. 'credit-risk'."
        )
    package = a["package_name"]
    if package != package.lower():
        errors.append(f"package_name: {package!r} has upper case; use {package.lower()!r}.")
    elif not PACKAGE.match(package) or not package.isidentifier():
        errors.append(
            f"package_name: {package!r} is not a valid Python identifier; use lower-case letters, digits and underscores, e.g. 'credit_risk'."
        )
    elif keyword.iskeyword(package) or keyword.issoftkeyword(package):
        errors.append(f"package_name: {package!r} is a Python keyword; choose another name, e.g. '{package}_model'.")
    elif package in DEPENDENCIES:
        errors.append(
            f"package_name: {package!r} would shadow a module the project imports; choose another name, e.g. '{package}_model'."
        )
    elif package in sys.stdlib_module_names:
        errors.append(
            f"package_name: {package!r} would shadow the standard library's {package!r}; choose another name, e.g. '{package}_model'."
        )
    for key in FREE_TEXT:
        if any(not ch.isprintable() for ch in a[key]):
            errors.append(f"{key}: {a[key]!r} holds a control character (a newline?); give one line of text.")
    return errors


def check_urls(a: dict[str, str]) -> list[str]:
    errors = []
    kind, url = a["dvc_remote"], a["dvc_remote_url"]
    if kind == "local":
        if "://" in url or not url.strip():
            errors.append(
                f"dvc_remote_url: {url!r} is not a local directory path; give a path such as '../my-dvc-storage', or choose dvc_remote s3, gcs or azure."
            )
    elif kind in BUCKET_URL and not BUCKET_URL[kind].match(url):
        errors.append(f"dvc_remote_url: {url!r} is not a valid {kind} URL; use the form {URL_EXAMPLE[kind]!r}.")
    uri = a["mlflow_tracking_uri"]
    scheme = uri.split(":", 1)[0]
    if ":" not in uri or scheme not in TRACKING_SCHEMES:
        errors.append(
            f"mlflow_tracking_uri: {uri!r} has no supported scheme ({', '.join(TRACKING_SCHEMES)}); e.g. 'sqlite:///mlflow.db' or 'https://mlflow.example.com'."
        )
    elif scheme == "sqlite" and not uri.startswith("sqlite:///"):
        errors.append(f"mlflow_tracking_uri: {uri!r} must start with 'sqlite:///' followed by a file path.")
    return errors


def check_people(a: dict[str, str]) -> list[str]:
    errors = []
    if not EMAIL.match(a["author_email"]):
        errors.append(f"author_email: {a['author_email']!r} is not an e-mail address; e.g. 'team@example.com'.")
    if not CODEOWNER.match(a["codeowners"]):
        errors.append(f"codeowners: {a['codeowners']!r} is not a GitHub owner; use '@user' or '@org/team'.")
    return errors


def check_branch(a: dict[str, str]) -> list[str]:
    branch = a["default_branch"]
    valid = subprocess.run(["git", "check-ref-format", "--branch", branch], capture_output=True).returncode == 0
    if not valid or branch.startswith("-"):
        return [f"default_branch: {branch!r} is not a valid git branch name; e.g. 'main'."]
    return []


def check_tools() -> list[str]:
    """The post-generation hook needs git, and DVC or uv to run it; find out now, before anything is written."""
    errors = []
    if shutil.which("git") is None:
        errors.append("git: not found on PATH; install git, then bake again.")
    has_dvc = (
        shutil.which("dvc") or subprocess.run([sys.executable, "-c", "import dvc"], capture_output=True).returncode == 0
    )
    if not has_dvc and shutil.which("uv") is None:
        errors.append(
            "uv: not found on PATH (the hook runs DVC through it); install uv (https://docs.astral.sh/uv/), then bake again."
        )
    return errors


def main() -> int:
    errors = check_tools()
    if not errors:
        errors = (
            check_choices(ANSWERS)
            + check_names(ANSWERS)
            + check_urls(ANSWERS)
            + check_people(ANSWERS)
            + check_branch(ANSWERS)
        )
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
