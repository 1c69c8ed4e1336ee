"""The package's layers point one way, the service imports only what the Bento ships, and the linters
a developer runs by hand are the ones the hooks run."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

PACKAGE = next(p for p in (ROOT / "src").iterdir() if (p / "__init__.py").exists())
# A module may import its own layer and any layer of a lower rank; pipeline, serving and batch are peers that
# never import each other. The package's __init__ and __main__ sit with the command line.
# monitoring/live/ is what the service runs (the Bento ships it): below serving, above the contract;
# the rest of monitoring reads the request log and the pipeline's outputs, so it sits above the pipeline.
RANK = {
    "contract": 0,
    "monitoring.live": 0.5,
    "pipeline": 1,
    "serving": 1,
    "batch": 1,
    "monitoring": 1.5,
    "release": 2,
    "cli": 3,
}


def layer(module: str) -> str:
    """`contract`, `pipeline`, … for a module path relative to the package (`pipeline.train`, `cli`)."""
    top = module.split(".")[0]
    if module.startswith("monitoring.live.") or module == "monitoring.live":
        return "monitoring.live"
    return "cli" if top in {"__init__", "__main__"} else top


def imported_modules(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every module of the package that a file imports, anywhere in it (lazy imports inside functions too)."""
    here = path.relative_to(root).with_suffix("").parts  # ("pipeline", "train")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = list(here[: len(here) - node.level])
                target = ".".join([*base, node.module] if node.module else base)
            elif node.module and node.module.split(".")[0] == root.name:
                target = node.module.partition(".")[2]
            else:
                continue
            names = [f"{target}.{a.name}" if target else a.name for a in node.names]
            found.update(names if not node.module else [target])
        elif isinstance(node, ast.Import):
            found.update(a.name.partition(".")[2] for a in node.names if a.name.split(".")[0] == root.name)
    return {m for m in found if m}


def violations(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        own = layer(".".join(path.relative_to(root).with_suffix("").parts))
        for module in imported_modules(path, root):
            other = layer(module)
            if other == own:
                continue
            if RANK[other] >= RANK[own]:
                found.append(f"{path.relative_to(root)} ({own}) imports {module} ({other})")
    return found


def test_every_module_belongs_to_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert layer(".".join(path.relative_to(PACKAGE).with_suffix("").parts)) in RANK, path


def test_imports_point_one_way_contract_pipeline_serving_release_cli() -> None:
    assert not violations(PACKAGE), "\n".join(violations(PACKAGE))


@pytest.mark.parametrize(
    ("module", "statement", "expected"),
    [
        (
            "contract/schema.py",
            "from ..serving import server",
            "contract/schema.py (contract) imports serving (serving)",
        ),
        ("pipeline/train.py", "from ..release import pins", "pipeline/train.py (pipeline) imports release (release)"),
        (
            "serving/service.py",
            "from ..pipeline import params",
            "serving/service.py (serving) imports pipeline (pipeline)",
        ),
        ("batch/score.py", "from ..release import pins", "batch/score.py (batch) imports release (release)"),
        (
            "monitoring/live/requestlog.py",
            "from ...pipeline import drift",
            "monitoring/live/requestlog.py (monitoring.live) imports pipeline (pipeline)",
        ),
        (
            "serving/service.py",
            "from ..monitoring import monitor",
            "serving/service.py (serving) imports monitoring (monitoring)",
        ),
    ],
)
def test_an_import_pointing_back_up_is_caught(tmp_path: Path, module: str, statement: str, expected: str) -> None:
    """The check itself can fail: a copy of the package with one import pointed the wrong way."""
    copy = tmp_path / PACKAGE.name
    for path in PACKAGE.rglob("*.py"):
        target = copy / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    broken = copy / module
    broken.write_text(broken.read_text() + f"\n{statement}\n")
    assert expected in violations(copy)


def test_the_service_imports_neither_dvc_nor_mlflow_nor_the_release_or_pipeline_code() -> None:
    """What a Bento installs has neither (pyproject's [project] dependencies), and ships neither layer."""
    code = f"import sys, {PACKAGE.name}.serving.service; print('\\n'.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    )
    assert f"{PACKAGE.name}.serving.service" in loaded  # the check ran in a process that did import the service
    forbidden = {"dvc", "mlflow", "git", f"{PACKAGE.name}.release", f"{PACKAGE.name}.pipeline"}
    assert not {m for m in loaded if m.startswith(f"{PACKAGE.name}.monitoring.") and ".live" not in m}
    assert not {m for m in loaded if m in forbidden or m.startswith(tuple(f"{f}." for f in forbidden))}


def test_the_bentofile_ships_only_the_contract_the_service_and_what_monitoring_runs_in_it() -> None:
    bentofile = yaml.safe_load((ROOT / "bentofile.yaml").read_text())
    shipped = {str(Path(pattern).relative_to(f"src/{PACKAGE.name}")) for pattern in bentofile["include"]}
    assert shipped == {"__init__.py", "contract", "serving", "monitoring/__init__.py", "monitoring/live"}


def test_the_hooks_run_the_linters_the_dev_group_pins() -> None:
    """`uv run ruff` by hand and the pre-commit hook must agree: the same exact versions in both places."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hook_pins = dict(
        dependency.split("==")
        for repo in hooks["repos"]
        for hook in repo["hooks"]
        for dependency in hook.get("additional_dependencies", [])
    )
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    dev_pins = dict(d.split("==") for d in dev if "==" in d)
    for tool in ("ruff", "mypy"):
        assert tool in hook_pins and tool in dev_pins, f"{tool} is pinned in both places"
    differ = {
        name: (pin, dev_pins[name]) for name, pin in hook_pins.items() if name in dev_pins and pin != dev_pins[name]
    }
    assert not differ, f"(hook pin, dev group pin) differ: {differ}"
