"""Bring your own data: `make adopt` a table, and the baked project trains, checks and serves it.

One clone of the session's trained project adopts a battery of tables one after another, as a team trying
its data would, each a kind of column or target that broke something once: tables that packages ship,
written to CSV as a team's export would be -- scikit-learn's breast cancer (binary, classes 0/1) and wine
(multiclass, integer classes); statsmodels' ANES 1996 (binary, classes a CSV reads as 0.0/1.0,
integer-coded answers); vega_datasets' cars (regression, gaps, mixed-case categories, names and dates)
and Seattle weather (multiclass, a rare class, a date) -- and a churn CSV made here (yes/no classes, a
category with gaps, a boolean, mixed-case categories, an identifier, a date, free text, a constant).
Each is carried through the pipeline, the generated unit stage and the built Bento to a served
prediction whose /metadata names the adopted file's DVC version; the churn table through all of
`make all`. Bad tables each get one line and change nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.datasets
import yaml
from sklearn import datasets
from vega_datasets import local_data

from . import servers
from .conftest import make
from .projects import isolated_env
from .servers import http

pytestmark = pytest.mark.e2e
PACKAGE = "penguin_species"
DATASET_FILE = Path(f"src/{PACKAGE}/contract/dataset.yaml")


def customers(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """A churn table as teams have them: an id, a date, notes, a constant, a category with gaps."""
    rng = np.random.default_rng(seed)
    plan = pd.Series(rng.choice(["basic", "plus", "premium"], rows)).where(rng.random(rows) > 0.03, None)
    tenure = rng.integers(1, 72, rows)
    charges = rng.normal(60, 15, rows).round(2)
    churned = ((tenure < 12) & (charges > 55)) | (rng.random(rows) < 0.1)
    payment = rng.choice(["Card", "card", "BANK transfer", "cash"], rows)  # as typed by hand: case varies
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(rows)],
            "signup_date": pd.date_range("2023-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
            "plan": plan,
            "tenure_months": tenure,
            "monthly_charges": charges,
            "autopay": rng.random(rows) > 0.5,  # a CSV writes True/False; pandas reads a boolean column
            "payment": payment,
            "region": "EU",
            "notes": [f"called about the {w} plan last week" for w in rng.choice(["basic", "new", "old"], rows)],
            "churned": np.where(churned, "yes", "no"),
        }
    )


# (file, target, the task adopt must infer, the columns it must drop)
TABLES = [
    ("breast_cancer.csv", "target", "binary", set()),
    ("wine.csv", "target", "multiclass", set()),
    ("anes96.csv", "vote", "binary", set()),
    ("cars.csv", "Miles_per_Gallon", "regression", {"Name", "Year"}),
    ("seattle_weather.csv", "weather", "multiclass", {"date"}),
    ("customers.csv", "churned", "binary", {"customer_id", "signup_date", "notes", "region"}),
]


def write_tables(folder: Path) -> None:
    for name, loader in [
        ("breast_cancer", datasets.load_breast_cancer),
        ("wine", datasets.load_wine),
    ]:
        loader(as_frame=True).frame.to_csv(folder / f"{name}.csv", index=False)
    statsmodels.datasets.anes96.load_pandas().data.to_csv(folder / "anes96.csv", index=False)
    local_data.cars().to_csv(folder / "cars.csv", index=False)
    local_data.seattle_weather().to_csv(folder / "seattle_weather.csv", index=False)
    customers().to_csv(folder / "customers.csv", index=False)
    # Bad tables: each must be refused in one line.
    (folder / "notes.txt").write_text("x,y\n1,2\n")
    (folder / "garbage.csv").write_bytes(b"\x00\xff\xfe binary \x00 not a table")
    pd.DataFrame({"x": range(200), "y": ["a"] * 200}).to_csv(folder / "one_class.csv", index=False)
    pd.DataFrame({"x": range(30), "y": ["a", "b"] * 15}).to_csv(folder / "few_rows.csv", index=False)


@pytest.fixture(scope="module")
def clone(
    trained: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """A clone of the trained project, set up once, with its own caches; and the tables beside it."""
    origin, _ = trained
    root = tmp_path_factory.mktemp("own-data")
    env = isolated_env(root)
    project = root / "project"
    subprocess.run(["git", "clone", "--quiet", str(origin), str(project)], check=True, capture_output=True)
    make(project, "setup", env)
    (root / "tables").mkdir()
    write_tables(root / "tables")
    return project, env


def adopt(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cmd = ["make", "adopt", *args]
    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=300)


def status(project: Path) -> tuple[str, list[str]]:
    """git's view, and the raw data folder's files (the tables themselves are ignored by git, tracked by DVC)."""
    git = ["git", "status", "--porcelain", "--untracked-files=all"]
    tracked = subprocess.run(git, cwd=project, capture_output=True, text=True, check=True).stdout
    return tracked, sorted(p.name for p in (project / "data/raw").iterdir())


BAD = {
    "missing file": (["DATA={tables}/absent.csv", "TARGET=y"], "absent.csv: no such file"),
    "not a table": (["DATA={tables}/garbage.csv", "TARGET=y"], "garbage.csv: "),
    "not csv or parquet": (["DATA={tables}/notes.txt", "TARGET=y"], "not a .csv or .parquet file"),
    "missing target": (["DATA={tables}/wine.csv", "TARGET=quality"], "target 'quality' is not a column"),
    "one class": (["DATA={tables}/one_class.csv", "TARGET=y"], "has one class ('a')"),
    "too few rows": (["DATA={tables}/few_rows.csv", "TARGET=y"], "30 rows have a 'y'; at least 100"),
    "binary with three classes": (["DATA={tables}/wine.csv", "TARGET=target", "TASK=binary"], "has 3 classes"),
    "regression of text": (["DATA={tables}/customers.csv", "TARGET=churned", "TASK=regression"], "holds text"),
    "a dropped column marked sensitive": (
        ["DATA={tables}/customers.csv", "TARGET=churned", "SENSITIVE=customer_id"],
        "SENSITIVE: cannot mark 'customer_id': it is not a feature of the table",
    ),
}


@pytest.mark.parametrize(("args", "message"), list(BAD.values()), ids=list(BAD))
def test_a_table_that_cannot_be_adopted_gets_one_line_and_changes_nothing(
    clone: tuple[Path, dict[str, str]], args: list[str], message: str
) -> None:
    project, env = clone
    before = status(project)
    result = adopt(project, env, *(a.format(tables=project.parent / "tables") for a in args))
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if line.startswith("adopt:")]
    assert len(ours) == 1 and message in ours[0] and ours[0].endswith("nothing was changed"), result.stderr
    assert "Traceback" not in result.stderr
    assert status(project) == before


@contextlib.contextmanager
def served(project: Path, env: dict[str, str], bento: str) -> Iterator[str]:
    """The built Bento on 127.0.0.1, stopped by its PID (and process group) on leaving."""
    port = servers.free_port()
    cmd = ["uv", "run", "--no-sync", "bentoml", "serve", bento, "--host", "127.0.0.1", "--port", str(port)]
    log = project.parent / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(cmd, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    try:
        try:
            servers.wait_for_200(process, f"http://127.0.0.1:{port}/readyz")
        except RuntimeError as error:
            pytest.fail(f"the Bento did not start: {error}\n{log.read_text()[-4000:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        servers.stop(process)
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)


CONTRACT_FREE = ("tests/unit/test_remote.py", "tests/unit/test_registry.py", "tests/unit/test_layers.py")


@contextlib.contextmanager
def unit_stage(project: Path, env: dict[str, str]) -> Iterator[None]:
    """`make test-unit`'s tests, less CONTRACT_FREE, beside what the block runs; fails on any skip, as a
    changed contract must not hide one. They read the contract and nothing the pipeline writes (CI runs
    them on a bare checkout), so the second core runs them while the first trains."""
    cmd = ["uv", "run", "--no-sync", "pytest", "tests/unit", "-q", "-rs", "-p", "no:cacheprovider"]
    cmd += [f"--deselect={path}" for path in CONTRACT_FREE]
    log = project.parent / "unit-stage.log"  # a file, not a pipe: nothing waits on a reader while the block runs
    with log.open("w") as sink, subprocess.Popen(cmd, cwd=project, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                                 start_new_session=True) as process:  # fmt: skip
        try:
            yield
            process.wait(timeout=900)
        finally:
            servers.stop(process)
    out = log.read_text()
    assert process.returncode == 0, out[-8000:]
    assert " passed" in out and " skipped" not in out.strip().splitlines()[-1], out[-3000:]


@pytest.mark.parametrize(("table", "target", "task", "dropped"), TABLES, ids=[t[0] for t in TABLES])
def test_an_adopted_table_is_trained_checked_and_served(
    clone: tuple[Path, dict[str, str]], table: str, target: str, task: str, dropped: set[str]
) -> None:
    project, env = clone
    started = time.monotonic()
    result = adopt(project, env, f"DATA={project.parent / 'tables' / table}", f"TARGET={target}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"adopt: task {task} (" in result.stdout
    assert {line.split("'")[1] for line in result.stdout.splitlines() if line.startswith("adopt: dropped")} == dropped
    adopted = time.monotonic() - started

    config = yaml.safe_load((project / DATASET_FILE).read_text())
    raw = f"data/raw/{table}"
    assert (config["raw_data"], config["target"], config["task"]) == (raw, target, task)
    assert not dropped & set(config["columns"])
    version = yaml.safe_load((project / f"{raw}.dvc").read_text())["outs"][0]["md5"]
    # Only the adopted table is raw data now: the previous one is no longer tracked.
    assert [p.name for p in (project / "data/raw").glob("*.dvc")] == [f"{table}.dvc"]

    # The churn table through what `make all` runs after setup (done once for the clone). Every other table:
    # the pipeline and the build beside the unit stage less the files that read no contract (the DVC remote,
    # the MLflow registry, the import layers: a minute of every run on 2 cores), and the served checks below;
    # the acceptance stage too for one whose classes a CSV reads as numbers.
    if table == "customers.csv":
        stages = ["repro", "build", "test-unit", "test-data", "test-performance", "test-acceptance", "smoke"]
        for stage in stages:
            make(project, stage, env)
    else:
        stages = ["repro", "build"] + (["test-acceptance"] if table == "breast_cancer.csv" else [])
        with unit_stage(project, env):
            for stage in stages:
                make(project, stage, env)
        stages.append("(unit stage)")
    elapsed = time.monotonic() - started
    print(f"\n{table}: make adopt {adopted:.1f} s; adopt + {' '.join(stages)} {elapsed:.1f} s")

    lineage = json.loads((project / "models/lineage.json").read_text())
    metrics = json.loads((project / "reports/metrics.json").read_text())
    expected_metrics = {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "r2"}[task]
    assert expected_metrics in metrics
    with served(project, env, lineage["bento_tag"]) as url:
        status_code, metadata = http("GET", f"{url}/metadata")
        assert status_code == 200 and metadata["data"][raw] == version, metadata.get("data")
        example = {k: v for k, v in config["example"].items() if k != target}
        status_code, answer = http("POST", f"{url}/predict", {"records": [example]})
        assert status_code == 200, answer
        if task == "regression":
            assert set(answer[0]) == {"prediction"} and isinstance(answer[0]["prediction"], float)
        else:
            classes = config["columns"][target]["values"]
            assert answer[0]["prediction"] in classes and list(answer[0]["probabilities"]) == classes
            assert abs(sum(answer[0]["probabilities"].values()) - 1) < 1e-6
        wrong = next(k for k in config["columns"] if k != target)
        status_code, answer = http("POST", f"{url}/predict", {"records": [{wrong: None}]})
        assert 400 <= status_code < 500


def test_re_adopting_keeps_a_column_marked_sensitive(clone: tuple[Path, dict[str, str]]) -> None:
    """A person adopts a table marking a column with SENSITIVE=, then adopts it again in place without it:
    the mark stays, so the request log does not start keeping personal data."""
    project, env = clone
    table = project.parent / "tables" / "members.csv"  # a name of its own: the other tests' are in data/raw/
    customers(seed=1).to_csv(table, index=False)
    for args in ([f"DATA={table}", "SENSITIVE=plan"], ["DATA=data/raw/members.csv"]):
        result = adopt(project, env, *args, "TARGET=churned")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "adopt: sensitive (not in the request log as given): plan;" in result.stdout, result.stdout
        columns = yaml.safe_load((project / DATASET_FILE).read_text())["columns"]
        assert [name for name, spec in columns.items() if spec.get("sensitive")] == ["plan"]
    # A mark set by hand in dataset.yaml survives a re-adopt just the same.
    contract = project / DATASET_FILE
    contract.write_text(contract.read_text().replace("  payment:\n", "  payment:\n    sensitive: true\n", 1))
    result = adopt(project, env, "DATA=data/raw/members.csv", "TARGET=churned")
    assert "adopt: sensitive (not in the request log as given): plan, payment;" in result.stdout, result.stdout
