"""The DVC remote's checks, on a real DVC repository with a folder remote in a temporary folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.release.adapters import storage
from {{ cookiecutter.package_name }}.release.errors import ReleaseError


def dvc(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "dvc", *args], check=True, capture_output=True)


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git and DVC repository whose raw file is pushed to a folder remote, then gone from this clone."""
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    monkeypatch.chdir(project)
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "dvc-site"))
    subprocess.run(["git", "init", "--quiet"], check=True)
    dvc("init", "--quiet")
    dvc("remote", "add", "--default", "storage", str(tmp_path / "storage"))
    (project / "data/raw.csv").write_text("a,b\n1,2\n")
    dvc("add", "--quiet", "data/raw.csv")
    dvc("push", "--quiet")
    shutil.rmtree(project / ".dvc/cache")
    (project / "data/raw.csv").unlink()
    return tmp_path


def test_data_fetches_the_raw_file(repository: Path) -> None:
    storage.pull()
    assert Path("data/raw.csv").read_text() == "a,b\n1,2\n"


def test_data_names_a_raw_file_the_remote_does_not_have(repository: Path) -> None:
    shutil.rmtree(repository / "storage/files")
    with pytest.raises(ReleaseError, match=r"data/raw\.csv could not be fetched from .*storage: push it"):
        storage.pull()


def test_a_folder_remote_this_machine_lacks_is_named_with_the_command_that_fixes_it(repository: Path) -> None:
    shutil.rmtree(repository / "storage")
    with pytest.raises(ReleaseError, match=r"does not have \(a GitHub runner never does\): make remote URL=s3://"):
        storage.check()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/data", "DVC remotes here are s3://, gs://, azure:// or a folder"),
        ("s3://key:secret@bucket/x", "credentials never go in git"),  # pragma: allowlist secret
        ("s3:///prefix", "names no bucket"),
    ],
)
def test_a_remote_url_that_cannot_work_is_refused_before_anything_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)  # refused before DVC or git is asked anything: nothing here to change
    with pytest.raises(ReleaseError, match=message):
        storage.configure(url=url, endpoint=None)
    assert list(tmp_path.iterdir()) == []


def test_an_endpoint_is_only_for_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ReleaseError, match="ENDPOINT: only an S3-compatible remote"):
        storage.configure(url="gs://bucket/prefix", endpoint="http://127.0.0.1:9000")
    assert list(tmp_path.iterdir()) == []
