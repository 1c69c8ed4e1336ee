"""The retraining proposal's decisions that need no GitHub: what it refuses, when it stays quiet, and its body.

The pull request, the issue and the comment on an open one are proposed through monitor.yml in the
Lastmile template's end-to-end tests, with GitHub's `gh` as a recording stand-in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.release.errors import ReleaseError
from {{ cookiecutter.package_name }}.release.promotion import retraining

REPORT = """# Monitoring report

## Verdict

- **island drifted: PSI 5.9 > 0.2**

![psi](psi.png)
![drift](drift-island.png)
"""


def verdict(folder: Path, failures: list[str]) -> Path:
    folder.mkdir()
    (folder / "result.json").write_text(json.dumps({"failures": failures}))
    (folder / "report.md").write_text(REPORT)
    return folder


def test_it_needs_the_monitor_to_have_run(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="run `make monitor` first"):
        retraining.main(monitor=tmp_path / "none", data=None)


def test_a_passing_monitor_proposes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert retraining.main(monitor=verdict(tmp_path / "m", []), data=None) == 0
    assert "nothing to propose" in capsys.readouterr().out


def test_a_failing_monitor_without_github_says_so_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    with pytest.raises(ReleaseError, match="GitHub is not reachable"):
        retraining.main(monitor=verdict(tmp_path / "m", ["island drifted: PSI 5.9 > 0.2"]), data=None)


def test_the_body_keeps_the_verdict_and_names_the_plots_instead_of_linking_them() -> None:
    text = retraining.body(REPORT, "The monitor ran again:")
    assert text.startswith("The monitor ran again:") and "**island drifted: PSI 5.9 > 0.2**" in text
    assert "![" not in text and "`monitor-report` artifact" in text


def test_md5_is_dvcs_hash_of_the_file(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes(b"a,b\n1,2\n")
    assert retraining.md5(tmp_path / "t.csv") == "e5ebd4c02cefbe7955977c67ada242b7"  # `md5sum t.csv`
