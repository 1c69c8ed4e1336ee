"""The command line refuses bad arguments with a usage message."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.cli import main


@pytest.mark.parametrize("argv", [[], ["fly"], ["prepare", "--raw"], ["serve", "--port", "eighty"]])
def test_bad_arguments_exit_2_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    assert "usage:" in capsys.readouterr().err
