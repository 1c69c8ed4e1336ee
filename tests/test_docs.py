"""The template's generated pages are what their generators write from the one home of each fact."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
import generate_options  # noqa: E402  # docs/ is not a package: the generator is a script `make docs` runs


def test_the_options_page_is_generated_from_cookiecutter_json() -> None:
    assert generate_options.PAGE.read_text() == generate_options.page(), "docs/options.md is stale: run `make docs`"


def test_a_question_added_to_cookiecutter_json_without_its_notes_is_refused(tmp_path: Path) -> None:
    """The check can fail: a new answer in cookiecutter.json that docs/options.yaml does not describe."""
    (tmp_path / "docs").mkdir()
    context = json.loads((ROOT / "cookiecutter.json").read_text()) | {"image_registry": "ghcr.io"}
    (tmp_path / "cookiecutter.json").write_text(json.dumps(context))
    (tmp_path / "docs" / "options.yaml").write_text((ROOT / "docs" / "options.yaml").read_text())
    with pytest.raises(SystemExit, match=r"disagree on the questions: \['image_registry'\]"):
        generate_options.page(tmp_path)


def test_every_question_asked_is_on_the_page() -> None:
    page = generate_options.PAGE.read_text()
    for name in generate_options.questions(generate_options.context(ROOT)):
        assert f"| `{name}` |" in page, name
